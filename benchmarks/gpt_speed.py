"""Our GPT-2 block's training step against transformers' GPT2Block, and what the KV cache saves.

    python benchmarks/gpt_speed.py               # CPU, one thread (about a minute on 2 cores)
    python benchmarks/gpt_speed.py --device cuda

Issue 18 asks for both. The block: batch 16, length 128, width 256, 8 heads, training mode, no
dropout; ours (``dlcourse.models.gpt.Block``) holds transformers' weights through ``GPT2_KEYS``,
and the two are timed alternately, repeat after repeat (medians), so load from other processes
falls on both alike. The cache: an untrained 4-layer GPT (width 256, 1,024 positions) generates
n tokens greedily from a 16-token prompt, with and without the cache (the same tokens: checked),
each timed once per length after a warm-up. Writes benchmarks/gpt_speed.json, which
benchmarks/run.py shows in RESULTS.md.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.run import record_speed, speed_row, speed_setup  # noqa: E402
from dlcourse.models.gpt import GPT, GPT2_KEYS, Block, GPTConfig  # noqa: E402

N, T, E, H = 16, 128, 256, 8
LENGTHS = (100, 250, 500)


def _blocks(device):
    import transformers
    from transformers.models.gpt2.modeling_gpt2 import GPT2Block

    hf = transformers.GPT2Config(n_embd=E, n_head=H, n_positions=T, resid_pdrop=0.0, attn_pdrop=0.0, embd_pdrop=0.0)
    theirs = GPT2Block(hf).to(device).train()
    ours = Block(GPTConfig.from_pretrained_config(hf)).to(device).train()
    GPT2_KEYS.load(ours, theirs.state_dict())
    return ours, theirs


def _time(fn, device) -> float:
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def block_row(device: torch.device, repeats: int) -> dict:
    ours, theirs = _blocks(device)
    x = torch.randn(N, T, E, device=device, requires_grad=True)
    steps = (lambda: ours(x).sum().backward(), lambda: theirs(x)[0].sum().backward())
    for _ in range(3):
        for step in steps:
            _time(step, device)
    times = ([], [])
    for _ in range(repeats):
        for out, step in zip(times, steps):
            out.append(_time(step, device))
    return speed_row(f"GPT-2 block vs transformers' GPT2Block ({N}x{T}x{E}, {H} heads, train step)", *times)


def cache_rows(device: torch.device) -> list[dict]:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=256, block_size=1024, n_layer=4, n_head=H, n_embd=E)).to(device).eval()
    prompt = torch.randint(0, 256, (1, 16), device=device)
    model.generate(prompt, 8), model.generate(prompt, 8, use_cache=False)      # warm-up
    rows = []
    for n in LENGTHS:
        out = {}
        seconds = {c: _time(lambda c=c: out.__setitem__(c, model.generate(prompt, n, greedy=True, use_cache=c)),
                            device) for c in (True, False)}
        assert torch.equal(out[True], out[False]), "the cache changed the generated tokens"
        rows.append({"tokens": n, "cached_s": round(seconds[True], 3), "uncached_s": round(seconds[False], 3),
                     "speedup": round(seconds[False] / seconds[True], 2)})
        print(f"{n:5d} tokens: cached {seconds[True]:.2f} s, uncached {seconds[False]:.2f} s, "
              f"{rows[-1]['speedup']:.1f}x", flush=True)
    return rows


def main(argv=None) -> int:
    args, device, machine = speed_setup(__doc__, "gpt_speed.json", 20, argv)
    row = block_row(device, args.repeats)
    print(f"{row['ours_ms']:9.2f} ms  {row['torch_ms']:9.2f} ms  {row['ratio']:5.2f}x  {row['what']}", flush=True)
    record_speed(args.out, device.type, machine, [row], kv_cache=cache_rows(device),
                 kv_cache_model={"layers": 4, "width": E, "heads": H, "prompt": 16})
    return 0


if __name__ == "__main__":
    sys.exit(main())
