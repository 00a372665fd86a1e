"""Llama from scratch == transformers' Llama, piece by piece and whole; its KV cache == no cache.

1. RMSNorm == ``LlamaRMSNorm``, RoPE == ``LlamaRotaryEmbedding`` + ``apply_rotary_pos_emb`` (at an
   offset, as in cached generation), SwiGLU == ``LlamaMLP``: values, the inputs' and every
   parameter's gradient, within check_close's measured tolerance (a float64 shadow of theirs).
2. A small random ``LlamaForCausalLM`` (no download; every weight randomised, so a unit RMSNorm
   gain cannot hide a misplaced norm), copied into ours by ``LLAMA_KEYS``: logits, the loss and every
   parameter's gradient, for grouped-query (2 key/value heads for 4 query heads), multi-query with
   a tied head (SmolLM2's layout) and plain multi-head attention.
3. Causality, and the cache: cached logits equal uncached ones position by position (a prompt, a
   chunk of several tokens, then single tokens), cached generation equals uncached token for token.
"""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")    # local files only

import pytest
import torch

transformers = pytest.importorskip("transformers")

from transformers.models.llama.modeling_llama import (LlamaMLP, LlamaRMSNorm, LlamaRotaryEmbedding,  # noqa: E402
                                                      apply_rotary_pos_emb)

from dlcourse.checks import check_close, check_like_torch, randomise_weights, shadow_of  # noqa: E402
from lm_parity import (assert_cache_changes_nothing, assert_causal, assert_cached_generation_is_uncached,  # noqa: E402
                       assert_same_as_transformers)
from dlcourse.models.llama import (LLAMA_KEYS, Llama, LlamaConfig, RMSNorm, SwiGLU, apply_rotary,  # noqa: E402
                                   rotary_cos_sin)

SMALL = dict(vocab_size=100, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=48, rms_norm_eps=1e-5, tie_word_embeddings=False,
             rope_parameters={"rope_type": "default", "rope_theta": 1000.0})   # not the default 10,000: it is read


def _hf_config(**overrides):
    return transformers.LlamaConfig(**{**SMALL, **overrides})


def _pair(**overrides):
    hf = _hf_config(**overrides)
    theirs = randomise_weights(transformers.LlamaForCausalLM(hf)).eval()
    ours = Llama(LlamaConfig.from_pretrained_config(hf))
    LLAMA_KEYS.load(ours, theirs.state_dict())
    return ours.eval(), theirs


def _ids(n=3, t=12, seed=0):
    return torch.randint(0, SMALL["vocab_size"], (n, t), generator=torch.Generator().manual_seed(seed))


def _module_values_and_gradients(name, ours, theirs, *inputs, seed=0):
    """ours(*inputs) == theirs(*inputs) (modules with the same parameter names): the output, each
    input's and each parameter's gradient under one random upstream gradient, against theirs in
    float64."""
    def run(module, xs):
        out = module(*xs)
        up = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(out.dtype)
        names, params = zip(*module.named_parameters())
        return [out, *torch.autograd.grad(out, [*xs, *params], up)]

    def fresh():
        return [x.detach().clone().requires_grad_(True) for x in inputs]

    got, expected, shadow = run(ours, fresh()), run(theirs, fresh()), shadow_of(run, theirs, fresh())
    labels = ["output", *(f"d/d(input {k + 1})" for k in range(len(inputs))),
              *(f"d/d{n}" for n, _ in theirs.named_parameters())]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for label, g, e, s in zip(labels, got, expected, shadow):
        assert s.dtype == torch.float64
        check_close(f"{name}, {label}", g, e, shadow=s)


def test_config_reads_a_transformers_config_and_names_mistakes():
    cfg = LlamaConfig.from_pretrained_config(_hf_config())
    assert (cfg.n_embd, cfg.n_layer, cfg.n_head, cfg.n_kv_head, cfg.ffn_dim, cfg.block_size, cfg.head_dim) == \
        (64, 2, 4, 2, 96, 48, 16)
    assert (cfg.rope_theta, cfg.eps, cfg.tie_embeddings) == (1000.0, 1e-5, False)
    assert LlamaConfig.from_pretrained_config({"num_attention_heads": 4, "hidden_size": 64}).n_kv_head == 4
    with pytest.raises(ValueError, match="multiple of n_kv_head"):
        LlamaConfig(n_head=4, n_kv_head=3, n_embd=64)
    with pytest.raises(ValueError, match="multiple of n_head"):
        LlamaConfig(n_head=5, n_embd=64)
    with pytest.raises(ValueError, match="rope_type"):       # Llama 3's scaled RoPE is not this decoder's
        LlamaConfig.from_pretrained_config(_hf_config(rope_parameters={
            "rope_type": "llama3", "rope_theta": 5e5, "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 32}))


def test_rmsnorm_equals_transformers():
    theirs = randomise_weights(LlamaRMSNorm(64, eps=1e-5))
    ours = RMSNorm(64, eps=1e-5)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 7, 64, generator=torch.Generator().manual_seed(1)) * 3
    _module_values_and_gradients("RMSNorm", ours, theirs, x)


def test_swiglu_equals_transformers_llama_mlp():
    hf = _hf_config()
    theirs = randomise_weights(LlamaMLP(hf))
    ours = SwiGLU(LlamaConfig.from_pretrained_config(hf))
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 7, 64, generator=torch.Generator().manual_seed(2))
    _module_values_and_gradients("SwiGLU", ours, theirs, x)


def test_rotary_embedding_equals_transformers_at_an_offset():
    hf = _hf_config()
    rotary = LlamaRotaryEmbedding(hf)
    positions = torch.arange(5, 5 + 9)                   # positions continue from a cache of 5
    g = torch.Generator().manual_seed(3)
    q, k = torch.randn(2, 4, 9, 16, generator=g), torch.randn(2, 2, 9, 16, generator=g)

    def theirs(q, k):
        cos, sin = rotary(q, positions[None])
        return apply_rotary_pos_emb(q, k, cos, sin)

    def ours(q, k):
        cos, sin = rotary_cos_sin(positions, 16, 1000.0)
        return apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)

    check_like_torch("RoPE", ours, theirs, q, k)
    cos, sin = rotary(q, positions[None])
    ours_cos, ours_sin = rotary_cos_sin(positions, 16, 1000.0)
    check_close("cos", ours_cos, cos[0], shadow=shadow_of(lambda: rotary(q, positions[None])[0][0]))
    check_close("sin", ours_sin, sin[0], shadow=shadow_of(lambda: rotary(q, positions[None])[1][0]))


def test_rope_scores_depend_on_the_distance_only():
    g = torch.Generator().manual_seed(4)
    q, k = torch.randn(1, 1, 1, 16, dtype=torch.float64, generator=g), torch.randn(1, 1, 1, 16, dtype=torch.float64,
                                                                                  generator=g)

    def score(m, n):
        cq, sq = rotary_cos_sin(torch.tensor([m]), 16, 1000.0, torch.float64)
        ck, sk = rotary_cos_sin(torch.tensor([n]), 16, 1000.0, torch.float64)
        return float((apply_rotary(q, cq, sq) * apply_rotary(k, ck, sk)).sum())

    # the same distance, far along: equal up to the angles' float32 rounding (computed as transformers does)
    assert abs(score(7, 3) - score(107, 103)) < 1e-5
    assert abs(score(7, 3) - score(8, 3)) > 1e-3            # another distance
    assert abs(float(apply_rotary(q, *rotary_cos_sin(torch.tensor([50]), 16, 1000.0, torch.float64)).norm())
               - float(q.norm())) < 1e-6                    # a rotation keeps lengths (float32 cos and sin)


@pytest.mark.parametrize("layout", [dict(), dict(num_key_value_heads=1, tie_word_embeddings=True),
                                    dict(num_key_value_heads=4)], ids=["gqa", "mqa, tied", "mha"])
def test_small_llama_equals_transformers_values_and_gradients(layout):
    ours, theirs = _pair(**layout)
    assert (ours.lm_head.weight is ours.embed_tokens.weight) == theirs.config.tie_word_embeddings
    print(f"max |logits - LlamaForCausalLM's| {float(assert_same_as_transformers(ours, theirs, _ids(), LLAMA_KEYS)):.1e}")


def test_future_tokens_never_change_past_logits():
    ours, _ = _pair()
    assert_causal(ours, _ids(2, 16), SMALL["vocab_size"])


@pytest.mark.parametrize("kv_heads", [2, 1])
def test_cached_logits_equal_uncached_ones_position_by_position(kv_heads):
    ours, _ = _pair(num_key_value_heads=kv_heads)
    cache = assert_cache_changes_nothing(ours, _ids(2, 14), len(ours.layers))
    assert cache.layers[0][0].shape == (2, kv_heads, 14, 16), "the cache keeps the key/value heads, not the repeats"


@pytest.mark.parametrize("settings", [dict(greedy=True), dict(temperature=0.8, top_k=10, top_p=0.9)],
                         ids=["greedy", "sampled"])
def test_cached_generation_equals_uncached_token_for_token(settings):
    ours, _ = _pair()
    assert_cached_generation_is_uncached(ours, _ids(2, 4), 20, **settings)


def test_greedy_generation_equals_transformers_generate():
    ours, theirs = _pair()
    prompt = _ids(2, 4)
    with torch.no_grad():
        expected = theirs.generate(prompt, max_new_tokens=12, do_sample=False, min_new_tokens=12,
                                   pad_token_id=0, eos_token_id=None)
    assert torch.equal(ours.generate(prompt, 12, greedy=True), expected)


def test_a_stop_token_ends_each_row():
    ours, _ = _pair()
    prompt = _ids(2, 4)
    free = ours.generate(prompt, 10, greedy=True)
    stop = int(free[0, 6])                                   # the token row 0 produces third
    out = ours.generate(prompt, 10, greedy=True, stop_token=stop)
    assert torch.equal(out[0, :7], free[0, :7]) and bool((out[0, 7:] == stop).all())
    for row in out:                                          # after its first stop token, a row only repeats it
        hits = (row[4:] == stop).nonzero()
        if len(hits):
            assert bool((row[4 + int(hits[0]):] == stop).all())


def test_past_block_size_the_context_is_refused_or_cropped_cached_or_not():
    ours, _ = _pair()
    with pytest.raises(ValueError, match="block_size"):
        ours(_ids(1, 49))
    runs = [ours.generate(_ids(2, 45), 6, temperature=0.9, use_cache=cached, generator=torch.Generator().manual_seed(0))
            for cached in (True, False)]
    assert runs[0].shape == (2, 51) and torch.equal(runs[0], runs[1])
