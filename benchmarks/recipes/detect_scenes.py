"""A YOLO-style single-stage detector (dlcourse.models.yolo.TinyYOLO) on the course's MNIST scenes
reaches mAP@0.5 >= 0.90 on the held-out scenes, COCO's mAP@[.5:.95] reported beside it.

Anchor: the issue's target for chapter 15 (no published number exists for these synthetic
scenes): mAP@0.5 >= 0.90 in under 15 minutes of this 2-core CPU. The recipe trains on scenes of
seed 1 (digits of MNIST's training split, 1-4 per 64x64 canvas, 16-32 px, two clutter fragments)
and evaluates on 1,000 scenes of ``HELD_OUT_SEED`` (MNIST's test digits) with dlcourse.mean_ap,
which equals pycocotools' COCOeval (tests/test_mean_ap.py). AdamW with a one-cycle schedule,
batch 64, fp32 (bf16 would not help a net this small), through dlcourse.fit with the loss as a
``step``. Evaluated once, at the end: nothing is tuned on the held-out scenes.

Measured on the shared 2-core CPU, one thread (2026-12-06): 8,000 scenes x 8 epochs, mAP@0.5
0.904, COCO mAP@[.5:.95] 0.569, in 657 s of training; the first try, 5,000 x 6, stopped at 0.870
(0.509) in 318 s, so the budget grew once, before the run recorded here.
"""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader

import dlcourse
from dlcourse.data.scenes import HELD_OUT_SEED, collate_scenes, scenes
from dlcourse.device import describe_device
from dlcourse.mean_ap import mean_average_precision
from dlcourse.models.yolo import TinyYOLO, decode_detections, yolo_loss

METRIC = "held-out scenes mAP@0.5 (TinyYOLO)"
TARGET = 0.90
BETTER = "higher"
ANCHOR = "the issue's target, 0.90 in 15 min (synthetic scenes: no published number)"
N_TRAIN, EPOCHS, BATCH, LR, CLUTTER = 8000, 8, 64, 3e-3, 2


def evaluate(model, n_test: int = 1000) -> dict:
    test = scenes(n_test, seed=HELD_OUT_SEED, clutter=CLUTTER)
    model.eval()
    predictions, targets = [], []
    for start in range(0, n_test, 250):
        images, truth = collate_scenes([test[i] for i in range(start, min(start + 250, n_test))])
        predictions += decode_detections(model, images)
        targets += truth
    return mean_average_precision(predictions, targets)


def run(epochs: int = EPOCHS, n_train: int = N_TRAIN, n_test: int = 1000, threads: int = 1) -> dict:
    device = dlcourse.setup(seed=0, threads=threads)
    loader = DataLoader(scenes(n_train, seed=1, clutter=CLUTTER), BATCH, shuffle=True, collate_fn=collate_scenes,
                        generator=torch.Generator().manual_seed(0))
    model = TinyYOLO()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=epochs * len(loader))
    history = dlcourse.fit(model, loader, optimizer, epochs=epochs, step=lambda m, b: yolo_loss(m, *b),
                           metrics=(), scheduler=scheduler, scheduler_interval="step", device=device, amp=False,
                           live_plot=False, progress=False)
    result = evaluate(model.cpu(), n_test)
    machine = f"{device}: {describe_device(device)}, torch threads: {torch.get_num_threads()}"
    seconds = sum(history["time"])
    return {"value": result["map_50"], "curve": [result["map_50"]], "epoch_seconds": [seconds], "machine": machine,
            "notes": (f"COCO mAP@[.5:.95] {result['map']:.3f}, mAP@0.75 {result['map_75']:.3f}; "
                      f"{n_train} training scenes x {epochs} epochs in {seconds:.0f} s")}
