"""GPT from scratch == transformers.GPT2LMHeadModel, its KV cache == no cache, its sampling == transformers'.

1. A small random GPT-2 (no download): transformers' model with every weight randomised (its
   zero biases and unit LayerNorm gains would hide a misplaced bias or norm), copied into ours by
   ``GPT2_KEYS`` (Conv1D weights transposed); logits, the loss and every parameter's gradient (by
   key) agree within check_close's measured tolerance (a float64 shadow of theirs).
2. Causality: changing later tokens leaves earlier logits unchanged, to the bit.
3. The KV cache: cached logits equal uncached ones position by position, and cached generation
   gives the same tokens as uncached (greedy and sampled with one seed).
4. Temperature, top-k and top-p equal transformers' logits warpers on the same logits.
5. At initialisation the loss is about ln(vocab): the model predicts nearly uniformly.
"""
import math
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")    # local files only

import pytest
import torch

transformers = pytest.importorskip("transformers")

from dlcourse.checks import check_close, randomise_weights  # noqa: E402
from lm_parity import (assert_cache_changes_nothing, assert_causal, assert_cached_generation_is_uncached,  # noqa: E402
                       assert_same_as_transformers)
from dlcourse.models.config import KeyMapError  # noqa: E402
from dlcourse.models.gpt import GPT, GPT2_KEYS, GPTConfig, gpt2_small  # noqa: E402
from dlcourse.models.sampling import filter_logits, top_k_filter, top_p_filter  # noqa: E402

SMALL = dict(vocab_size=70, n_positions=32, n_embd=32, n_layer=2, n_head=4, resid_pdrop=0.0, embd_pdrop=0.0,
             attn_pdrop=0.0)


def _pair():
    hf = transformers.GPT2Config(**SMALL)
    theirs = randomise_weights(transformers.GPT2LMHeadModel(hf)).eval()
    theirs.tie_weights()
    ours = GPT(GPTConfig.from_pretrained_config(hf))
    GPT2_KEYS.load(ours, theirs.state_dict())
    return ours.eval(), theirs


def _ids(n=3, t=12, seed=0):
    return torch.randint(0, SMALL["vocab_size"], (n, t), generator=torch.Generator().manual_seed(seed))


def test_config_reads_a_transformers_config_and_names_mistakes():
    cfg = GPTConfig.from_pretrained_config(transformers.GPT2Config(**SMALL))
    assert (cfg.block_size, cfg.n_embd, cfg.n_layer, cfg.n_head, cfg.eps, cfg.activation) == (32, 32, 2, 4, 1e-5,
                                                                                             "gelu_new")
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPTConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="activation"):
        GPTConfig(activation="swish")


def test_gpt2_small_has_the_papers_weight_count():
    model = gpt2_small()
    assert sum(p.numel() for p in model.parameters()) == 124_439_808     # the head is the token embedding
    assert model.lm_head.weight is model.wte.weight


def test_small_gpt_equals_transformers_values_and_gradients():
    ours, theirs = _pair()
    assert_same_as_transformers(ours, theirs, _ids(), GPT2_KEYS)


def test_the_key_map_lists_what_does_not_fit():
    _, theirs = _pair()
    state = dict(theirs.state_dict())
    del state["transformer.ln_f.bias"]
    with pytest.raises(KeyMapError, match=r"ln_f.bias"):
        GPT2_KEYS.load(GPT(GPTConfig.from_pretrained_config(theirs.config)), state)


def test_future_tokens_never_change_past_logits():
    ours, _ = _pair()
    assert_causal(ours, _ids(2, 16), SMALL["vocab_size"])


def test_cached_logits_equal_uncached_ones_position_by_position():
    ours, _ = _pair()
    assert_cache_changes_nothing(ours, _ids(2, 14), len(ours.h))


@pytest.mark.parametrize("settings", [dict(greedy=True), dict(temperature=0.8, top_k=10, top_p=0.9)],
                         ids=["greedy", "sampled"])
def test_cached_generation_equals_uncached_token_for_token(settings):
    ours, _ = _pair()
    assert_cached_generation_is_uncached(ours, _ids(2, 4), 20, **settings)


def test_generation_past_the_context_crops_it_with_or_without_the_cache():
    ours, _ = _pair()
    with pytest.raises(ValueError, match="block_size"):
        ours(_ids(1, 33))
    runs = [ours.generate(_ids(2, 28), 12, temperature=0.9, use_cache=cached, generator=torch.Generator().manual_seed(0))
            for cached in (True, False)]
    assert runs[0].shape == (2, 40) and torch.equal(runs[0], runs[1])


@pytest.mark.parametrize("temperature, top_k, top_p", [(0.7, None, None), (1.0, 5, None), (1.0, None, 0.8),
                                                       (1.3, 8, 0.6), (1.0, None, 0.999)])
def test_sampling_filters_equal_transformers_warpers(temperature, top_k, top_p):
    from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    logits = torch.randn(6, 50, generator=torch.Generator().manual_seed(1)) * 3
    logits[0, :4] = logits[0, 4]                    # ties at the threshold
    theirs = TemperatureLogitsWarper(temperature)(None, logits.clone())
    if top_k is not None:
        theirs = TopKLogitsWarper(top_k)(None, theirs)
    if top_p is not None:
        theirs = TopPLogitsWarper(top_p)(None, theirs)
    ours = filter_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p)
    assert torch.equal(torch.isinf(ours), torch.isinf(theirs))
    check_close("kept logits", ours[~torch.isinf(ours)], theirs[~torch.isinf(theirs)], verbose=False)


def test_filters_keep_what_they_promise():
    logits = torch.tensor([[3.0, 1.0, 0.5, 0.2, -1.0]])
    assert (~torch.isinf(top_k_filter(logits, 2))).sum() == 2
    assert (~torch.isinf(top_p_filter(logits, 1e-6))).sum() == 1       # the most likely token always stays
    assert (~torch.isinf(top_p_filter(logits, 1.0))).sum() == 5
    with pytest.raises(ValueError, match="greedy=True"):
        filter_logits(logits, temperature=0)


def test_the_loss_at_initialisation_is_about_ln_vocab():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=64))
    ids = torch.randint(0, 65, (8, 64))
    with torch.no_grad():
        _, loss = model(ids[:, :-1], ids[:, 1:])
    assert abs(float(loss) - math.log(65)) < 0.05, float(loss)
