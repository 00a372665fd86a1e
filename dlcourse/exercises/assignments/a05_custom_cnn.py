"""The checks of assignment a05 (a CNN of your own design on an image-folder data set).

The data set is ``dlcourse.data.cifar10_folder()``: four CIFAR-10 classes (airplane,
automobile, ship, truck) as JPEG files in ``root/<split>/<class>/``, 500 training and 200 test
images per class. ``probe_split`` runs here and drives the student's ``load_split`` (while
grading, through the proxy) and Task 1 is compared here against torchvision's ``ImageFolder``.
Task 2's model is the student's own design, so it crosses once, as data: ``student_model``
(``designs.student_design``) builds it where their class lives and traces it
(``dlcourse.model_spec``: its graphs of ATen calls and its tensors), and rebuilds it here as a
module that calls only allowed operators, every layer started here. Its
parameters, its FLOPs and its step time come from that rebuilt module, in this process; the
course's training recipe and the test accuracy (tiers) from the same spec rebuilt in a fresh
process of the grader's (``dlcourse.graded_process``: the same bits on every CPU). No method of
the student's runs for them.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from dlcourse.checks import CheckError, beside, check_close, is_student_error, outputs_and_grads, predict
from dlcourse.data import CIFAR10_MEAN, CIFAR10_STD, CIFAR10_VEHICLES, cifar10_folder
from dlcourse.data.sources import training_only
from dlcourse.exercises.assignments.designs import design_spec, images, spec_module, student_design
from dlcourse.model_spec import ModelSpecError
from dlcourse.profiling import count_params

__all__ = ["CHAPTER", "PARAM_BUDGET", "FLOP_BUDGET", "STEP_BUDGET_S", "EPOCHS", "reference_split", "check_load_split",
           "check_budgets", "student_model", "train_custom_cnn", "scored_design", "check_accuracy", "BaselineCNN"]

CHAPTER = "13_efficient_cnns"   # the chapter notebook this assignment practises
TRAINS_ON = ("cifar10_folder",)  # all the grading sandbox may read (grading.data_view)

PARAM_BUDGET = 150_000   # parameters
FLOP_BUDGET = 20e6       # floating-point operations of one 32x32 image's forward pass (torch's FlopCounterMode)
STEP_BUDGET_S = 2.0      # one forward + backward of a batch of 64, best of 3: a loose wall-clock guard (the
                         # 19-MFLOP solution takes 0.25-0.4 s on one heavily loaded core, so CI's load cannot
                         # fail a right answer); the FLOP budget is the exact one
EPOCHS, BATCH = 4, 64    # the course's recipe: 4 epochs x 2,000 images = 125 steps


def reference_split(split: str, held_out: bool = True):
    """The split as the instructions define it: ImageFolder, ToTensor, Normalize(CIFAR-10's mean, std).
    ``held_out=False``: the folder a grading sandbox holds, whose ``test/`` is cut from training images."""
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD)])
    return datasets.ImageFolder(str(cifar10_folder(held_out=held_out) / split), transform=tf)


def _as_tensors(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = zip(*(dataset[i] for i in range(len(dataset))))
    return torch.stack(xs), torch.as_tensor(ys)


class BaselineCNN(nn.Module):
    """The course's baseline: three conv-BN-ReLU-pool stages (24, 48, 64 channels), global average
    pooling, a linear layer: 39,196 parameters, 10.2 MFLOPs per image, about 65% after the recipe."""

    def __init__(self, num_classes=4):
        super().__init__()
        def stage(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*stage(3, 24), *stage(24, 48), *stage(48, 64))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


# ----------------------------------------------------------------------------- probing the student's code
def probe_split(load_split, split: str, indices: list) -> dict:
    """The student's ``load_split(root, split)`` on this machine's folder: size, classes, some items.
    Runs here; while grading the data set lives in the student's process and is read through the proxy,
    and the folder there is the training-only one (no held-out image is readable in the sandbox)."""
    # The folder as a Path made where load_split runs (students write root / split or os.path.join).
    ds = load_split(beside(load_split, cifar10_folder)(), split)
    items = [ds[i] for i in indices]
    return {"len": len(ds), "classes": list(getattr(ds, "classes", None) or []),
            "held_out": not beside(load_split, training_only)(),
            "x": [x if isinstance(x, torch.Tensor) else torch.as_tensor(np.array(x)) for x, _ in items],
            "y": [int(y) for _, y in items]}


def flops_per_image(model) -> float:
    """FLOPs of one 32x32 image's forward pass, counted by torch's FlopCounterMode where ``model`` runs.

    In eval mode: the cost of labelling an image, and a BatchNorm1d head (which cannot take
    batch statistics of one image in training mode) is counted like any other layer."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.randn(1, 3, 32, 32))
    finally:
        model.train(was_training)
    return float(counter.get_total_flops())


def student_model(model_class, num_classes: int = 4, seed: int = 0) -> nn.Module:
    """The student's design rebuilt here from its spec (a module of allowed ATen calls), every layer
    started here the way PyTorch starts it (``designs.student_design``): the weights the student's
    process sent could hold anything, a table of the test images' answers included."""
    return student_design(model_class, (num_classes,), inputs=images(), seed=seed)


def measure(model_class, num_classes: int = 4, repeats: int = 3) -> dict:
    """Parameters, FLOPs per image, output shape and the best time of one forward + backward on 64
    images, all of the rebuilt module (``student_model``), here; or ``{"error": (stage, exception)}``."""
    stage = f"building CustomCNN({num_classes}) and tracing it in train and eval mode (torch.export)"
    try:
        model = student_model(model_class, num_classes)
        stage = "counting FLOPs (one (1, 3, 32, 32) image through the model in eval mode)"
        flops = flops_per_image(model)
        stage = "one training step (forward and backward on a (64, 3, 32, 32) batch in training mode)"
        x = torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        times, shape = [], None
        for _ in range(repeats):
            start = time.perf_counter()
            got = outputs_and_grads(model, [x])
            times.append(time.perf_counter() - start)
            out = got["outputs"][0]
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else out
    except ModelSpecError as e:
        return {"error": (stage, e)}
    except Exception as e:  # noqa: BLE001 - named by the check; the grading's own failures go on up
        if not is_student_error(e):
            raise
        return {"error": (stage, e)}
    return {"n_params": count_params(model), "shape": shape, "seconds": min(times), "flops": float(flops)}


def train_custom_cnn(model: nn.Module, seed: int = 0) -> dict:
    """The course's recipe on ``model`` (the rebuilt design): AdamW, one-cycle to 3e-3, batch 64,
    EPOCHS epochs on the 2,000 training images. Runs here."""
    import dlcourse
    from dlcourse.device import graded_run

    x, y = _as_tensors(reference_split("train"))
    torch.manual_seed(seed)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=BATCH, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=EPOCHS * len(loader))
    start = time.perf_counter()
    # fp32 on one CPU thread, no automatic bf16 (graded_run); graded, in a fresh process on the code
    # path every x86-64 CPU shares (dlcourse.graded_process). Not float64, which also makes machines
    # agree (a03, a06-a09): it ran this recipe 2.4x slower (31 s against 13 s).
    with graded_run(torch.float32):
        dlcourse.fit(model, loader, optimizer, epochs=EPOCHS, scheduler=schedule, scheduler_interval="step",
                     device="cpu", amp=False, channels_last=False, progress=False, live_plot=False)
    return {"seconds": time.perf_counter() - start}


# ----------------------------------------------------------------------------- the checks (grader's side)
def check_load_split(load_split, split: str = "train", indices=(0, 1, 499, 500, 1999)) -> None:
    """``load_split(root, split)`` must read ``root/split`` with ImageFolder, ToTensor and Normalize."""
    __tracebackhide__ = True
    indices = [i % len(reference_split(split)) for i in indices]
    try:
        got = probe_split(load_split, split, indices)
    except Exception as e:  # noqa: BLE001 - the student's function raised
        if not is_student_error(e):  # a timeout or a broken pipe is the grader's to handle
            raise
        message = getattr(e, "message", None) or str(e)
        if "NotImplementedError" in (getattr(e, "kind", "") + message):
            raise CheckError("load_split still raises NotImplementedError: write it.") from None
        raise CheckError(f"load_split(root, {split!r}) raised {getattr(e, 'kind', type(e).__name__)}: {message}") from None
    expected = reference_split(split, held_out=got["held_out"] is not False)  # both folders are the grader's
    if got["len"] != len(expected):
        raise CheckError(f"load_split(root, {split!r}) holds {got['len']} images, expected {len(expected)}: read the "
                         f"folder root / split (here root / {split!r}), one sub-folder per class.")
    if got["classes"] != list(expected.classes):
        raise CheckError(f"classes {got['classes']}, expected {expected.classes}: use "
                         "torchvision.datasets.ImageFolder, which sorts the class folders.")
    for i, x, y in zip(indices, got["x"], got["y"]):
        ex, ey = expected[i]
        if y != ey:
            raise CheckError(f"item {i} has label {y}, expected {ey} ({expected.classes[ey]}).")
        if tuple(x.shape) != tuple(ex.shape):
            raise CheckError(f"item {i} is a tensor of shape {tuple(x.shape)}, expected {tuple(ex.shape)} (channels "
                             "first): transforms.ToTensor() turns a PIL image into (3, H, W) floats in [0, 1].")
        if not torch.allclose(x.float(), ex, atol=1e-4):
            raw = (ex * torch.tensor(CIFAR10_STD).view(3, 1, 1) + torch.tensor(CIFAR10_MEAN).view(3, 1, 1))
            hint = ("these are the [0, 1] pixels: add transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD) after "
                    "ToTensor()" if torch.allclose(x.float(), raw, atol=1e-4) else
                    "ToTensor(), then Normalize(CIFAR10_MEAN, CIFAR10_STD), in this order")
            raise CheckError(f"item {i}'s pixels differ from the expected ones: {hint}.")
        check_close(f"{split} item {i}", x.float(), ex, atol=1e-4, rtol=0)


def check_budgets(model_class, *, num_classes: int = 4) -> None:
    """The parameter budget, the output shape and the time of one training step."""
    __tracebackhide__ = True
    got = measure(model_class, num_classes)
    if "error" in got:
        stage, e = got["error"]
        kind, message = getattr(e, "kind", type(e).__name__), getattr(e, "message", None) or str(e)
        if "NotImplementedError" in kind + message:
            raise CheckError("CustomCNN still raises NotImplementedError: design it.") from None
        raise CheckError(f"CustomCNN failed in {stage}: {kind}: {message}") from None
    if got["shape"] != (64, num_classes):
        raise CheckError(f"expected shape (N, {num_classes}), got (N, {', '.join(map(str, got['shape'][1:]))}): "
                         f"the last layer must output num_classes = {num_classes} logits per image (pool or "
                         "flatten the feature maps first).")
    if got["n_params"] > PARAM_BUDGET:
        raise CheckError(f"CustomCNN has {got['n_params']:,} parameters, over the budget of {PARAM_BUDGET:,}: "
                         "use fewer channels, or global average pooling instead of a large Linear layer.")
    if got["flops"] > FLOP_BUDGET:
        raise CheckError(f"one image's forward pass takes {got['flops'] / 1e6:.1f} MFLOPs, over the budget of "
                         f"{FLOP_BUDGET / 1e6:.0f}: the first layers at 32x32 cost the most; downsample earlier "
                         "(a stride-2 convolution or pooling) or use fewer channels there.")
    if got["seconds"] > STEP_BUDGET_S:
        raise CheckError(f"one forward and backward pass on 64 images takes {got['seconds']:.2f} s, over the "
                         f"budget of {STEP_BUDGET_S} s: downsample earlier (a stride or pooling) or use fewer channels.")
    print(f"OK CustomCNN: {got['n_params']:,} parameters (budget {PARAM_BUDGET:,}), "
          f"{got['flops'] / 1e6:.1f} MFLOPs per image (budget {FLOP_BUDGET / 1e6:.0f}), output (N, {num_classes}), "
          f"{got['seconds'] * 1000:.0f} ms per step of 64 images (budget {STEP_BUDGET_S * 1000:.0f} ms)")


def scored_design(spec: dict, seed: int = 0) -> dict:
    """The design ``spec`` describes (the grader's checked copy, its layers started by the grader),
    trained with the course's recipe and tested on the 800 test images: accuracy, seconds and the
    trained weights' digest. A job of ``dlcourse.graded_process``, which runs it in a fresh process."""
    from dlcourse.graded_process import state_digest

    x, y = _as_tensors(reference_split("test"))
    model = spec_module(spec, images())
    got = train_custom_cnn(model, seed)
    acc = float((predict(model, x).argmax(1) == y).float().mean())
    return {"accuracy": acc, "seconds": got["seconds"], "digest": state_digest(model)}


def check_accuracy(model_class, seed: int = 0) -> float:
    """Train the rebuilt design with the course's recipe and label the 800 test images, in the grader's
    own fresh process on the portable code path (``dlcourse.graded_process``); the accuracy. The
    student's process only built and traced the model."""
    __tracebackhide__ = True
    from dlcourse.graded_process import run_graded

    try:
        spec = design_spec(model_class, (len(CIFAR10_VEHICLES),), inputs=images(), seed=seed)
    except ModelSpecError as e:
        raise CheckError(f"CustomCNN cannot be graded: {e}") from None
    got = run_graded("a05", spec=spec, seed=seed)
    print(f"test accuracy after the course's recipe ({EPOCHS} epochs, {got['seconds']:.0f} s): {got['accuracy']:.1%}")
    return got["accuracy"]
