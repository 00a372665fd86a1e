"""One comparison for the course's language models against transformers' (tests/test_gpt.py, test_llama.py).

``ours`` holds ``theirs``' weights through ``keys`` (a KeyMap). Both predict every next token of
``ids`` and back-propagate their own loss; the logits, the loss and every parameter's gradient (by
key, transposed where the key map transposes) must agree within check_close's measured tolerance:
theirs runs again in float64 (shadow_of) for the rounding each comparison may allow.
"""
from __future__ import annotations

import torch

from dlcourse.checks import check_close, shadow_of


def assert_same_as_transformers(ours, theirs, ids: torch.Tensor, keys) -> torch.Tensor:
    """The comparison above; returns our logits' largest distance from theirs."""
    ours.zero_grad(), theirs.zero_grad()
    targets = torch.cat([ids[:, 1:], torch.full_like(ids[:, :1], -1)], dim=1)   # the next token; none at the end
    logits, loss = ours(ids, targets)
    loss.backward()
    r = theirs(input_ids=ids, labels=ids)                                      # transformers shifts inside
    r.loss.backward()

    def reference():           # theirs again, outputs and parameter gradients: float64 under shadow_of
        again = theirs(input_ids=ids, labels=ids)
        return [again.logits, again.loss, *torch.autograd.grad(again.loss, [p for _, p in theirs.named_parameters()])]

    shadow_logits, shadow_loss, *shadow_grads = shadow_of(reference)
    check_close("logits", logits, r.logits, shadow=shadow_logits)
    check_close("loss", loss, r.loss, shadow=shadow_loss)
    ours_grads = {k: p.grad for k, p in ours.named_parameters()}
    theirs_named = list(theirs.named_parameters())
    assert set(ours_grads) == {keys.our_key(k) for k, _ in theirs_named}
    for (their_key, p), shadow in zip(theirs_named, shadow_grads):
        key = keys.our_key(their_key)
        flip = keys.transposed(key)
        check_close(f"d/d{key}", ours_grads[key], p.grad.t() if flip else p.grad, shadow=shadow.t() if flip else shadow,
                    verbose=False)
    return (logits - r.logits).detach().abs().max()


def assert_cache_changes_nothing(model, ids: torch.Tensor, n_layer: int):
    """Logits fed through a KVCache (a prompt of 5, a chunk of 4, in which the mask matters, then one
    token at a time) equal the uncached logits of the whole sequence; returns the cache."""
    from dlcourse.models.gpt import KVCache

    with torch.no_grad():
        full = model(ids)[0]
        cache = KVCache(n_layer)
        pieces = [model(ids[:, :5], cache=cache)[0], model(ids[:, 5:9], cache=cache)[0]]
        pieces += [model(ids[:, t:t + 1], cache=cache)[0] for t in range(9, ids.shape[1])]
    assert len(cache) == ids.shape[1]
    check_close("logits with the cache", torch.cat(pieces, dim=1), full, atol=1e-5, rtol=1e-5, verbose=False)
    return cache


def assert_cached_generation_is_uncached(model, prompt: torch.Tensor, n: int, **settings) -> None:
    """The same tokens with and without the cache, drawn with one seed."""
    runs = [model.generate(prompt, n, use_cache=cached, generator=torch.Generator().manual_seed(3), **settings)
            for cached in (True, False)]
    assert runs[0].shape == (prompt.shape[0], prompt.shape[1] + n)
    assert torch.equal(runs[0], runs[1])


def assert_causal(model, ids: torch.Tensor, vocab_size: int, cut: int = 10) -> None:
    """Changing the tokens from ``cut`` on leaves the logits before it unchanged, to the bit, and
    moves those after it."""
    changed = ids.clone()
    changed[:, cut:] = (changed[:, cut:] + 1) % vocab_size
    with torch.no_grad():
        a, b = model(ids)[0], model(changed)[0]
    assert torch.equal(a[:, :cut], b[:, :cut])
    assert not torch.allclose(a[:, cut:], b[:, cut:])
