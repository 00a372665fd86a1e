"""How much slower our recurrent layers (a Python loop over time) train than torch's fused kernels.

    python benchmarks/rnn_speed.py                 # batch 64, length 50, input 64, hidden 128
    python benchmarks/rnn_speed.py --repeats 3     # a quick look

One forward and backward pass (output and final states into a scalar), timed for ours and for
torch's module holding the same weights, alternately, so both see the same load on a shared
machine; after one warm-up each, the medians of the repeats and the ratio of the fastest runs
(the least disturbed by other processes: on a busy machine the medians wander, the minimums less). Rows: RNN (tanh), LSTM and GRU,
one layer; LSTM with 2 layers, bidirectional; and LSTM on a variable-length batch (torch
packed, ours masked with ``lengths``). Prints a Markdown table; the numbers quoted in
``dlcourse/models/rnn.py`` come from here. Writes benchmarks/rnn_speed.json (the medians),
which benchmarks/run.py shows in RESULTS.md next to attention_speed's.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.run import record_speed, speed_machine, speed_row  # noqa: E402
from dlcourse.models.rnn import from_torch  # noqa: E402


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def forward_backward(module, x, lengths=None, packed=False):
    def run():
        module.zero_grad(set_to_none=True)
        inp = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False) if packed else x
        out, state = module(inp, lengths=lengths) if lengths is not None and not packed else module(inp)
        out = out.data if hasattr(out, "batch_sizes") else out
        states = state if isinstance(state, tuple) else (state,)
        (out.sum() + sum(s.sum() for s in states)).backward()
    return run


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--length", type=int, default=50)
    ap.add_argument("--input", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: steadier on a shared machine)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "rnn_speed.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, args.length, args.input)
    lengths = torch.randint(args.length // 2, args.length + 1, (args.batch,))
    lengths[0] = args.length
    cases = [("RNN tanh, 1 layer", nn.RNN, {}, False), ("LSTM, 1 layer", nn.LSTM, {}, False),
             ("GRU, 1 layer", nn.GRU, {}, False),
             ("LSTM, 2 layers, bidirectional", nn.LSTM, {"num_layers": 2, "bidirectional": True}, False),
             ("LSTM, 1 layer, variable lengths", nn.LSTM, {}, True)]
    print(f"batch {args.batch}, length {args.length}, input {args.input}, hidden {args.hidden}, fp32, "
          f"{args.threads} thread(s), {args.repeats} runs each; {os.cpu_count()} cores, {platform.machine()}, torch {torch.__version__}\n")
    print("| layer | torch, median (ms) | ours, median (ms) | ours / torch, medians | ours / torch, fastest |\n"
          "|---|---|---|---|---|")
    rows = []
    for name, cls, options, variable in cases:
        theirs = cls(args.input, args.hidden, batch_first=True, **options)
        ours = from_torch(theirs)
        run_theirs = forward_backward(theirs, x, lengths if variable else None, packed=variable)
        run_ours = forward_backward(ours, x, lengths if variable else None)
        run_theirs(), run_ours()                              # warm-up: allocator, first-call dispatch
        t_theirs, t_ours = [], []
        for _ in range(args.repeats):                         # alternate: both share the same load
            t_theirs.append(seconds(run_theirs))
            t_ours.append(seconds(run_ours))
        a, b = statistics.median(t_theirs), statistics.median(t_ours)
        print(f"| {name} | {a * 1e3:.1f} | {b * 1e3:.1f} | {b / a:.2f}x | {min(t_ours) / min(t_theirs):.2f}x |")
        rows.append(speed_row(f"{name} (batch {args.batch}, length {args.length}, hidden {args.hidden})", t_ours, t_theirs))
    record_speed(args.out, "cpu", speed_machine("cpu", args.threads), rows)

if __name__ == "__main__":
    main()
