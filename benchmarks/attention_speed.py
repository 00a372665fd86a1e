"""Forward + backward time of our attention and Transformer references against torch's built-ins.

    python benchmarks/attention_speed.py               # CPU, one thread (about a minute on 2 cores)
    python benchmarks/attention_speed.py --device cuda

Issue 9 asks the references used for training to stay within 1.5x of torch on the same shapes.
Shapes are a typical small training step: batch 32, length 64, d_model 128, 4 heads, feed-forward
512, dropout 0.1, training mode. Ours and theirs are timed alternately, repeat after repeat, and
each reports its median, so load from other processes falls on both alike. One CPU thread by
default: on a shared machine a second thread measures the neighbours more than the code.
Writes benchmarks/attention_speed.json, which benchmarks/run.py shows in RESULTS.md.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.run import record_speed, speed_row, speed_setup  # noqa: E402
from dlcourse.models.attention import MultiheadAttention, causal_mask, scaled_dot_product_attention  # noqa: E402
from dlcourse.models.transformer import Transformer, TransformerEncoderLayer  # noqa: E402

N, L, E, H, FF, P = 32, 64, 128, 4, 512, 0.1


def _pairs(device):
    """name -> (ours, theirs, inputs): each a callable returning a tensor to back-propagate."""
    x = torch.randn(N, L, E, device=device, requires_grad=True)
    q, k, v = (torch.randn(N, H, L, E // H, device=device, requires_grad=True) for _ in range(3))
    pad = torch.arange(L, device=device) >= torch.randint(L // 2, L + 1, (N, 1), device=device)
    tgt_mask = causal_mask(L, device=device)

    def same(ours_cls, theirs_cls, *args, **kwargs):
        theirs = theirs_cls(*args, **kwargs).to(device).train()
        ours = ours_cls(*args, **kwargs).to(device).train()
        ours.load_state_dict(theirs.state_dict())
        return ours, theirs

    mha = same(MultiheadAttention, nn.MultiheadAttention, E, H, dropout=P, batch_first=True)
    enc = same(TransformerEncoderLayer, nn.TransformerEncoderLayer, E, H, FF, P, batch_first=True)
    tr = same(Transformer, nn.Transformer, E, H, 2, 2, FF, P, batch_first=True)
    return {
        "scaled_dot_product_attention (explicit vs F., causal)": (
            lambda: scaled_dot_product_attention(q, k, v, dropout_p=P, is_causal=True),
            lambda: F.scaled_dot_product_attention(q, k, v, dropout_p=P, is_causal=True)),
        "MultiheadAttention (self, padding mask)": tuple(
            (lambda m=m: m(x, x, x, key_padding_mask=pad, need_weights=False)[0]) for m in mha),
        "MultiheadAttention (need_weights=True)": tuple(
            (lambda m=m: m(x, x, x, key_padding_mask=pad)[0]) for m in mha),
        "TransformerEncoderLayer (padding mask)": tuple(
            (lambda m=m: m(x, src_key_padding_mask=pad)) for m in enc),
        "Transformer 2+2 layers (causal target, padding)": tuple(
            (lambda m=m: m(x, x, tgt_mask=tgt_mask, src_key_padding_mask=pad, memory_key_padding_mask=pad))
            for m in tr),
    }


def _step(fn, device) -> float:
    start = time.perf_counter()
    fn().sum().backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure(device: torch.device, repeats: int) -> list[dict]:
    torch.manual_seed(0)
    rows = []
    for name, (ours, theirs) in _pairs(device).items():
        for _ in range(3):                                   # warm-up: allocator, kernels chosen
            _step(ours, device), _step(theirs, device)
        t_ours, t_theirs = [], []
        for _ in range(repeats):
            t_ours.append(_step(ours, device))
            t_theirs.append(_step(theirs, device))
        rows.append(speed_row(name, t_ours, t_theirs))
        print(f"{rows[-1]['ours_ms']:9.2f} ms  {rows[-1]['torch_ms']:9.2f} ms  {rows[-1]['ratio']:5.2f}x  {name}", flush=True)
    return rows


def main(argv=None) -> int:
    args, device, machine = speed_setup(__doc__, "attention_speed.json", 20, argv)
    print(f"forward + backward, batch {N}, length {L}, d_model {E}, {H} heads, training mode; {machine}")
    print(f"{'ours':>12}  {'torch':>12}  ratio")
    rows = measure(device, args.repeats)
    record_speed(args.out, device.type, machine, rows, shape={"batch": N, "length": L, "d_model": E, "heads": H, "ffn": FF})
    return 0


if __name__ == "__main__":
    sys.exit(main())
