"""What chapters 07-08 buy on CIFAR-10: one small CNN, plain, then + BatchNorm, + augmentation, + one-cycle.

The same network (dlcourse.models.SmallCNN, widths 16-32-64, about 70,000 weights) is trained
four times from the same initial weights on the same 10,000 training images (a seeded subset,
to keep the recipe to minutes on a 2-core CPU: 24 minutes measured on a shared, overloaded one),
each time adding one thing:

1. plain: SGD with momentum 0.9, learning rate 0.02, weight decay 5e-4;
2. + BatchNorm after every convolution (Ioffe & Szegedy 2015);
3. + augmentation: random crops of the image padded by 4 pixels and horizontal flips
   (torchvision transforms v2, drawn per image and per epoch);
4. + a one-cycle learning rate (Smith & Topin 2019), peak 0.1, stepped after every batch.

The metric is the last variant's accuracy on all 10,000 test images; every variant's accuracy
and time are listed under the main table of RESULTS.md. The test set is evaluated after every
epoch only to time when the target is first reached; nothing is tuned or stopped on it.

Anchor: Krizhevsky's cuda-convnet "layers-18pct" network reached 82% with all 50,000 training
images and no augmentation (code.google.com/p/cuda-convnet, 2012); with a fifth of the data
and 8 epochs we aim at 65%, and report what each ingredient adds.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms import v2

import dlcourse
from dlcourse.data import cifar10, cifar10_augmented
from dlcourse.device import describe_device
from dlcourse.models import SmallCNN

METRIC = "CIFAR-10 test accuracy (10k train images, BN + augmentation + one-cycle)"
TARGET = 0.65
BETTER = "higher"
ANCHOR = "82% (cuda-convnet layers-18pct, 50k images, Krizhevsky 2012)"
WIDTHS, BATCH, LR, PEAK_LR, WEIGHT_DECAY = (16, 32, 64), 128, 0.02, 0.1, 5e-4
VARIANTS = ("plain", "+ BatchNorm", "+ augmentation", "+ one-cycle")


def train_variant(variant: str, device, train_limit: int, test_loader, epochs: int) -> dict:
    """Train the variant and return its history's test accuracy per epoch and seconds per epoch."""
    level = VARIANTS.index(variant)
    crop_flip = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()])
    train = cifar10_augmented("train", crop_flip if level >= 2 else None, limit=train_limit)
    torch.manual_seed(0)                                     # the same initial weights for every variant
    model = SmallCNN(WIDTHS, norm_layer=nn.BatchNorm2d if level >= 1 else None)
    model = model.to(memory_format=torch.channels_last)     # NHWC convolutions: faster on CPUs
    loader = DataLoader(train, BATCH, shuffle=True, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, weight_decay=WEIGHT_DECAY)
    scheduler = (torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=PEAK_LR, total_steps=epochs * len(loader))
                 if level >= 3 else None)
    history = dlcourse.fit(model, loader, optimizer, epochs=epochs, val_loader=test_loader, scheduler=scheduler,
                           scheduler_interval="step", device=device, live_plot=False, progress=False)
    print(f"  {variant:15s} test accuracy per epoch {[round(a, 3) for a in history['val_accuracy']]}, "
          f"train {history.last('train_accuracy'):.3f}, {sum(history['time']):.0f} s", flush=True)
    return {"curve": history["val_accuracy"], "epoch_seconds": history["time"]}


def run(train_limit: int = 10_000, test_limit: int | None = None, epochs: int = 8) -> dict:
    device = dlcourse.setup(seed=0)
    test_loader = DataLoader(cifar10("test", limit=test_limit), 1000)
    runs = {variant: train_variant(variant, device, train_limit, test_loader, epochs) for variant in VARIANTS}
    machine = f"{device}: {describe_device(device)}, torch threads: {torch.get_num_threads()}"
    last = runs[VARIANTS[-1]]
    return {"value": last["curve"][-1], "curve": last["curve"], "epoch_seconds": last["epoch_seconds"],
            "machine": machine,
            "variants": [{"name": v, "value": r["curve"][-1], "total_s": sum(r["epoch_seconds"])}
                         for v, r in runs.items()]}
