"""Time of our NMS and RoIAlign (dlcourse.box_ops) against torchvision.ops'.

    python benchmarks/box_ops_speed.py               # CPU, one thread (about a minute)
    python benchmarks/box_ops_speed.py --device cuda

Sizes as a detector meets them: NMS over 1,000 and 5,000 scored boxes (a single-stage head's
candidates before and after a score threshold), batched NMS over 5,000 boxes in 10 classes;
RoIAlign of 256 regions to 7x7 from a 256-channel 50x50 map (Faster R-CNN's RoI head), forward
and forward + backward. Ours and theirs are timed alternately, repeat after repeat, each
reporting its median, so load from other processes falls on both alike (as conv_speed.py).
Ours is written to be read (a Python loop over kept boxes, one over regions), torchvision's
are C++ kernels: the ratio says what the reading costs. Writes benchmarks/box_ops_speed.json,
which benchmarks/run.py shows in RESULTS.md.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torchvision

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.run import record_speed, speed_row, speed_setup  # noqa: E402
from dlcourse import box_ops  # noqa: E402


def _boxes(n: int, device, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 500
    return torch.cat([xy, xy + 10 + torch.rand(n, 2, generator=g) * 100], 1).to(device)


def _alternate(ours, theirs, device, repeats: int):
    def timed(fn):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start
    for _ in range(2):
        ours(), theirs()
    t_ours, t_theirs = [], []
    for _ in range(repeats):
        t_ours.append(timed(ours))
        t_theirs.append(timed(theirs))
    return t_ours, t_theirs


def measure(device: torch.device, repeats: int) -> list[dict]:
    rows = []
    for n in (1000, 5000):
        boxes, scores = _boxes(n, device), torch.rand(n, generator=torch.Generator().manual_seed(1)).to(device)
        t = _alternate(lambda: box_ops.nms(boxes.cpu(), scores.cpu(), 0.5),
                       lambda: torchvision.ops.nms(boxes, scores, 0.5), device, repeats)
        rows.append(speed_row(f"nms, {n} boxes, IoU 0.5", *t))
    idxs = torch.randint(0, 10, (5000,), generator=torch.Generator().manual_seed(2)).to(device)
    boxes, scores = _boxes(5000, device), torch.rand(5000, generator=torch.Generator().manual_seed(1)).to(device)
    rows.append(speed_row("batched_nms, 5000 boxes in 10 classes", *_alternate(
        lambda: box_ops.batched_nms(boxes.cpu(), scores.cpu(), idxs.cpu(), 0.5),
        lambda: torchvision.ops.batched_nms(boxes, scores, idxs, 0.5), device, repeats)))
    features = torch.randn(2, 256, 50, 50, device=device, requires_grad=True)
    regions = torch.cat([torch.randint(0, 2, (256, 1)).float().to(device), _boxes(256, device) / 12], 1)
    for backward in (False, True):
        def run(fn):
            def go():
                with torch.set_grad_enabled(backward):
                    out = fn(features, regions, (7, 7), 1.0, 2, True)
                    if backward:
                        out.backward(torch.ones_like(out))
            return go
        t = _alternate(run(box_ops.roi_align), run(torchvision.ops.roi_align), device, repeats)
        rows.append(speed_row(f"roi_align {'forward + backward' if backward else 'forward'}, 256 regions to 7x7 "
                              "from 2x256x50x50, sampling 2", *t))
    for row in rows:
        print(f"{row['ours_ms']:9.2f} ms  {row['torch_ms']:9.2f} ms  {row['ratio']:6.1f}x  {row['what']}")
    return rows


def main(argv=None) -> int:
    args, device, machine = speed_setup(__doc__, "box_ops_speed.json", 7, argv)
    print(f"box ops, fp32; {machine}\n{'ours':>12}  {'torchvision':>12}  ratio")
    record_speed(args.out, device.type, machine, measure(device, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
