"""Time of our im2col conv2d (dlcourse.conv) against F.conv2d, forward and forward + backward.

    python benchmarks/conv_speed.py                  # CPU, one thread (a few minutes on 2 shared cores)
    python benchmarks/conv_speed.py --device cuda

Shapes: LeNet-5's two convolutions on MNIST-sized batches (128 x 1 x 28 x 28, 6 filters 5x5
padding 2; 128 x 6 x 14 x 14, 16 filters 5x5) and a CIFAR-sized ResNet/VGG layer (128 x 64 x
32 x 32, 64 filters 3x3 padding 1), fp32. Ours and theirs are timed alternately, repeat after
repeat, and each reports its median, so load from other processes falls on both alike (as in
attention_speed.py). im2col copies every input pixel kh kw times, which torch's direct and
Winograd/implicit-GEMM kernels avoid: the ratio says what that copy costs.
Writes benchmarks/conv_speed.json, which benchmarks/run.py shows in RESULTS.md.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.run import record_speed, speed_row, speed_setup  # noqa: E402
from dlcourse.conv import conv2d  # noqa: E402

# name -> (input shape, weight shape, padding)
SHAPES = {
    "LeNet conv1: 128x1x28x28, 6 filters 5x5, pad 2": ((128, 1, 28, 28), (6, 1, 5, 5), 2),
    "LeNet conv2: 128x6x14x14, 16 filters 5x5": ((128, 6, 14, 14), (16, 6, 5, 5), 0),
    "CIFAR 3x3: 128x64x32x32, 64 filters 3x3, pad 1": ((128, 64, 32, 32), (64, 64, 3, 3), 1),
}


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timer(fn, device, backward: bool):
    def run() -> float:
        _sync(device)
        start = time.perf_counter()
        out = fn()
        if backward:
            out.backward(torch.ones_like(out))
        _sync(device)
        return time.perf_counter() - start
    return run


def measure(device: torch.device, repeats: int) -> list[dict]:
    torch.manual_seed(0)
    rows = []
    for name, (x_shape, w_shape, padding) in SHAPES.items():
        x = torch.randn(x_shape, device=device, requires_grad=True)
        w = torch.randn(w_shape, device=device, requires_grad=True)
        b = torch.randn(w_shape[0], device=device, requires_grad=True)
        for backward in (False, True):
            with torch.set_grad_enabled(backward):
                ours = _timer(lambda: conv2d(x, w, b, padding=padding), device, backward)
                theirs = _timer(lambda: F.conv2d(x, w, b, padding=padding), device, backward)
                for _ in range(2):                            # warm-up: allocator, kernels chosen
                    ours(), theirs()
                t_ours, t_theirs = [], []
                for _ in range(repeats):
                    t_ours.append(ours())
                    t_theirs.append(theirs())
            what = f"conv2d {'forward + backward' if backward else 'forward'}, {name}"
            rows.append(speed_row(what, t_ours, t_theirs))
            print(f"{rows[-1]['ours_ms']:9.2f} ms  {rows[-1]['torch_ms']:9.2f} ms  {rows[-1]['ratio']:5.2f}x  {what}",
                  flush=True)
            x.grad = w.grad = b.grad = None
    return rows


def main(argv=None) -> int:
    args, device, machine = speed_setup(__doc__, "conv_speed.json", 10, argv)
    print(f"conv2d, fp32; {machine}\n{'ours':>12}  {'torch':>12}  ratio")
    rows = measure(device, args.repeats)
    record_speed(args.out, device.type, machine, rows,
                 shapes={k: {"x": v[0], "weight": v[1], "padding": v[2]} for k, v in SHAPES.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
