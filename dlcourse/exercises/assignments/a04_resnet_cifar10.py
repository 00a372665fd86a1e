"""The checks of assignment a04 (a small ResNet on CIFAR-10): the student's classes against the course's.

The drivers of Tasks 1-3 (``probe_block``, ``probe_resnet``, ``run_evaluate``) run here and drive
the student's code through the grader's proxies (``dlcourse.reach``); what comes back is data (outputs,
gradients, an accuracy), compared here with :class:`ReferenceBasicBlock` / :class:`ReferenceResNet`
under the same weights. Task 2 builds the student's ResNet around the *reference* block, Task 3
evaluates the reference ResNet, so each task is graded on its own. Task 4's recipe is a dict
(``RECIPE``'s vocabulary) that crosses as data: the course's loop trains the grader's own ResNet with
it here (``train_recipe``, in a fresh process of the grader's that takes the same code path on
every CPU: ``dlcourse.graded_process``), so no number that decides a score comes from the student's process.
Usual mistakes get their fix named: a shortcut without its projection when the shape changes, no
ReLU after the addition, BatchNorm left in training mode at evaluation, an unknown recipe key.
"""
from __future__ import annotations

import copy
import math
import time
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.checks import (CheckError, beside, check_close, matches, outputs_and_grads, predict,
                             randomise_weights, student_error_text)
from dlcourse.precision import in_float64
from dlcourse.profiling import count_params

__all__ = ["CHAPTER", "ReferenceBasicBlock", "ReferenceResNet", "block_state", "check_block", "check_resnet",
           "check_evaluate", "check_recipe", "check_training", "read_recipe", "train_recipe", "scored_recipe",
           "N_TRAIN"]

CHAPTER = "12_resnet"   # the chapter notebook this assignment practises
TRAINS_ON = ()  # all the grading sandbox may read (grading.data_view): Task 4 trains in the grader

N_TRAIN, N_TEST = 5000, 1000
PROJECTION = ("the shortcut needs a projection when the stride is not 1 or the channels change: "
              "self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), "
              "nn.BatchNorm2d(out_channels)), and an empty nn.Sequential() otherwise")


class ReferenceBasicBlock(nn.Module):
    """He et al. 2016's basic block: conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x, relu_after_add=True, relu_first=False):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if relu_first:  # a usual mistake: ReLU before the addition, none after
            return F.relu(y) + self.shortcut(x)
        y = y + self.shortcut(x)
        return F.relu(y) if relu_after_add else y


class ReferenceResNet(nn.Module):
    """A small CIFAR ResNet: stem conv3x3-BN-ReLU, three stages of one ``block`` each (stride 1, 2, 2),
    global average pooling, a linear classifier. 78,042 parameters with the basic block."""

    def __init__(self, block=ReferenceBasicBlock, num_classes=10, widths=(16, 32, 64)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.layer1 = block(widths[0], widths[0], 1)
        self.layer2 = block(widths[0], widths[1], 2)
        self.layer3 = block(widths[1], widths[2], 2)
        self.fc = nn.Linear(widths[2], num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean(dim=(2, 3)))


def block_state(module: nn.Module, seed: int) -> dict:
    """Seeded weights, BatchNorm gains, shifts and running statistics away from 1 and 0
    (``dlcourse.checks.randomise_weights``), so that train mode, eval mode and a missing layer
    all give different outputs."""
    return randomise_weights(copy.deepcopy(module), seed).state_dict()


# ----------------------------------------------------------------------------- probing the student's classes
def _probe(model, state: dict, x: torch.Tensor, seed: int = 0) -> dict:
    """Run here, driving the model (while grading, the student's, through the proxy): data only."""
    out = {"shapes": {k: tuple(v.shape) for k, v in model.state_dict().items()}, "n_params": count_params(model)}
    try:
        model.load_state_dict(state)
    except Exception as e:  # noqa: BLE001 - reported as data, turned into advice by the check
        return {**out, "error": ("load_state_dict", student_error_text(e))}
    try:
        model.eval()
        with torch.no_grad():
            out["eval"] = torch.as_tensor(model(x))
        model.train()
        got = outputs_and_grads(model, [x], seed=seed)
        out["train"] = got["outputs"][0]
        out["grads"] = {k: g for k, g in got.get("param_grads", {}).items() if g is not None}
    except Exception as e:  # noqa: BLE001
        out["error"] = ("forward", student_error_text(e))
    return out


def probe_block(block_class, args: tuple, state: dict, x: torch.Tensor) -> dict:
    """``block_class(*args)`` with ``state`` loaded: outputs in eval and train mode, gradients."""
    try:
        block = block_class(*args)
    except Exception as e:  # noqa: BLE001
        return {"error": ("__init__", student_error_text(e))}
    return _probe(block, state, x)


def probe_resnet(resnet_class, state: dict, x: torch.Tensor) -> dict:
    """``resnet_class(ReferenceBasicBlock)`` (the course's block: Task 2 does not need Task 1)."""
    try:
        model = resnet_class(ReferenceBasicBlock)
    except Exception as e:  # noqa: BLE001
        return {"error": ("__init__", student_error_text(e))}
    return _probe(model, state, x)


# ----------------------------------------------------------------------------- run in the student's process
def run_evaluate(evaluate, state: dict, images: torch.Tensor, labels: torch.Tensor) -> dict:
    """The student's ``evaluate`` on a reference ResNet built where it runs: its result and which
    entries of the model's state it changed (read before and after, as data)."""
    from dlcourse.device import seed_everything

    beside(evaluate, seed_everything)(0)
    model = beside(evaluate, ReferenceResNet)()
    model.load_state_dict(state)
    model.train()  # as a model is right after training
    before = {k: torch.as_tensor(v).clone() for k, v in model.state_dict().items()}
    result = evaluate(model, images, labels)
    after = model.state_dict()
    changed = [k for k, v in after.items() if not torch.equal(torch.as_tensor(v), before[k])]
    return {"accuracy": float(result), "changed": changed}


# ----------------------------------------------------------------------------- Task 4: a recipe, as data
# The recipe is a dict of choices from this vocabulary: it crosses as data, and the course's loop
# runs it here on the grader's own model and images, so the budget is the grader's to keep (issue 16).
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "one_cycle")
RECIPE = {  # key: (type, lowest, highest, default); a default of ... means the key is required
    "batch_size": (int, 8, 512, ...),
    "optimizer": (str, None, None, ...),
    "lr": (float, 1e-5, 1.0, ...),
    "schedule": (str, None, None, "constant"),
    "momentum": (float, 0.0, 0.99, 0.9),
    "nesterov": (bool, None, None, False),
    "weight_decay": (float, 0.0, 0.5, 0.0),
    "warmup": (float, 0.0, 0.5, None),
    "label_smoothing": (float, 0.0, 0.5, 0.0),
    "clip_grad": (float, 0.01, 100.0, None),
}
RECIPE_HELP = ("a dict such as {'batch_size': 32, 'optimizer': 'adamw', 'lr': 5e-3, 'weight_decay': 0.05, "
               "'schedule': 'one_cycle'}; the keys: " + ", ".join(RECIPE))


def read_recipe(recipe) -> dict:
    """The recipe, checked and with every default filled in; a CheckError that names the fix otherwise."""
    __tracebackhide__ = True
    if not isinstance(recipe, dict):
        raise CheckError(f"recipe() must return a dict, got {type(recipe).__name__}: {RECIPE_HELP}.")
    unknown = sorted(str(k)[:40] for k in recipe if k not in RECIPE)
    if unknown:
        raise CheckError(f"the recipe has keys the grader does not know: {unknown}. The budget is one pass over the "
                         f"{N_TRAIN:,} images, so there is no 'epochs'. Known keys: {', '.join(RECIPE)}.")
    out = {}
    for key, (kind, low, high, default) in RECIPE.items():
        value = recipe.get(key, default)
        if value is ...:
            raise CheckError(f"the recipe has no {key!r}: {RECIPE_HELP}.")
        if value is None:
            out[key] = None
            continue
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind:  # noqa: E721 - exactly: True is not a batch size
            raise CheckError(f"recipe[{key!r}] must be a {kind.__name__}, got {type(value).__name__}.")
        if kind is float and not math.isfinite(value) or low is not None and not low <= value <= high:
            raise CheckError(f"recipe[{key!r}] = {value!r} is outside [{low:g}, {high:g}].")
        out[key] = value
    for key, allowed in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES)):
        if out[key] not in allowed:
            raise CheckError(f"recipe[{key!r}] = {out[key][:40]!r}: choose one of {', '.join(allowed)}.")
    if out["nesterov"] and out["optimizer"] != "sgd":
        raise CheckError("recipe['nesterov'] is for 'sgd' only (Adam has no Nesterov switch here): remove it.")
    return out


def _optimizer(recipe: dict, params) -> torch.optim.Optimizer:
    lr, decay = recipe["lr"], recipe["weight_decay"]
    if recipe["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=recipe["momentum"], nesterov=recipe["nesterov"],
                               weight_decay=decay)
    betas = (recipe["momentum"], 0.999)  # Adam's beta1 is its momentum
    return (torch.optim.AdamW if recipe["optimizer"] == "adamw" else torch.optim.Adam)(
        params, lr=lr, betas=betas, weight_decay=decay)


def _schedule(recipe: dict, optimizer, steps: int):
    """dlcourse.schedules' twins of torch's: one-cycle peaks at lr (warmup = its pct_start, 0.3 by
    default); cosine and constant warm up linearly over that fraction of the steps first."""
    from dlcourse.schedules import as_scheduler, cosine_decay, linear_warmup, one_cycle

    warmup = recipe["warmup"]
    if recipe["schedule"] == "one_cycle":
        return as_scheduler(optimizer, one_cycle, total_steps=steps, pct_start=0.3 if warmup is None else warmup)
    warm = round((warmup or 0.0) * steps)
    cosine = recipe["schedule"] == "cosine"
    if not warm:
        return as_scheduler(optimizer, cosine_decay, total_steps=steps) if cosine else None
    then = partial(cosine_decay, total_steps=max(1, steps - warm)) if cosine else None
    return as_scheduler(optimizer, linear_warmup, warmup_steps=warm, then=then)


def train_recipe(recipe: dict, seed: int = 0, n_train: int = N_TRAIN) -> tuple[nn.Module, float]:
    """The course's loop (``dlcourse.fit``) running ``recipe`` (checked by read_recipe) for one epoch on
    n_train CIFAR-10 training images, on a seeded ReferenceResNet; the model and the seconds it took.

    fp32 on one CPU thread with no automatic bf16 nor channels-last (``graded_run``). Graded, it runs
    in a fresh process on the code path every x86-64 CPU shares (``dlcourse.graded_process``: the
    same weights, bit for bit, on any CPU kind); float64 would also make machines agree, as in a03
    and a06-a09, but ran this ResNet's epoch 7.5x slower (46 s against 6 s on one core)."""
    import dlcourse
    from dlcourse.data import cifar10
    from dlcourse.device import graded_run, seed_everything

    recipe = read_recipe(recipe)
    train_set = cifar10("train", limit=n_train, seed=seed)
    seed_everything(seed)
    with graded_run(torch.float32):
        model = ReferenceResNet()
        loader = torch.utils.data.DataLoader(train_set, batch_size=recipe["batch_size"], shuffle=True,
                                             generator=torch.Generator().manual_seed(seed))
        optimizer = _optimizer(recipe, model.parameters())
        schedule = _schedule(recipe, optimizer, len(loader))
        smoothing = recipe["label_smoothing"]
        start = time.perf_counter()
        dlcourse.fit(model, loader, optimizer, epochs=1, scheduler=schedule, scheduler_interval="step",
                     loss_fn=partial(F.cross_entropy, label_smoothing=smoothing), clip_grad=recipe["clip_grad"],
                     device="cpu", amp=False, channels_last=False, progress=False, live_plot=False)
    return model, time.perf_counter() - start


# ----------------------------------------------------------------------------- the checks (grader's side)
def _diagnose(what: str, got, expected_shapes: dict, expected_params: int) -> None:
    __tracebackhide__ = True
    if not isinstance(got, dict):
        raise CheckError(f"{what}: the probe got nothing back")
    where, message = got.get("error") or (None, None)
    if where == "__init__":
        if "NotImplementedError" in message:
            raise CheckError(f"{what} still raises NotImplementedError: write it.")
        raise CheckError(f"{what} raised {message}")
    shapes = got["shapes"]
    missing = sorted(set(expected_shapes) - set(shapes))
    if any(k.startswith("shortcut.") or ".shortcut." in k for k in missing):
        raise CheckError(f"{what} has no {missing[0]}: {PROJECTION}.")
    if missing:
        raise CheckError(f"{what}'s state dict has no {missing}: use the attribute names of the instructions. "
                         f"Your keys: {sorted(shapes)}.")
    for k, shape in expected_shapes.items():
        if shapes[k] != shape:
            raise CheckError(f"{what}: {k} has shape {shapes[k]}, expected {shape}.")
    extra = sorted(set(shapes) - set(expected_shapes))
    if extra:
        hint = (f"; the shortcut must stay empty (identity) when the shape does not change: {PROJECTION}"
                if any("shortcut" in k for k in extra) else ": remove the layers the instructions do not list")
        raise CheckError(f"{what} has extra entries {extra}{hint}.")
    if got["n_params"] != expected_params:
        raise CheckError(f"{what} has {got['n_params']:,} parameters, expected {expected_params:,}.")
    if where == "load_state_dict":
        raise CheckError(f"{what}: loading the given weights raised {message}")
    if where == "forward":
        if "must match the size" in message:
            raise CheckError(f"{what}: forward raised {message}. The shortcut's output must have the block's "
                             f"shape: {PROJECTION}.")
        raise CheckError(f"{what}: forward raised {message}")


def _train_step(model: nn.Module, x: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, dict]:
    """The reference in train mode (batch statistics): its output and the parameter gradients of the
    seeded projection of it (``dlcourse.reach.outputs_and_grads``, as the probe measures the student's)."""
    model.train()
    got = outputs_and_grads(model, [x], seed=seed)
    return got["outputs"][0], got["param_grads"]


def _check_train(what: str, got: dict, ref: nn.Module, x: torch.Tensor, output: str, gradients: bool) -> None:
    """The train-mode output (and gradients) against the reference's, run again in float64."""
    __tracebackhide__ = True
    (y, grads), (y64, grads64) = _train_step(ref, x), in_float64(_train_step, ref, x)
    check_close(f"{what} {output} in train mode (batch statistics)", got["train"], y, shadow=y64)
    if gradients:
        for name, g in grads.items():
            check_close(f"{what}: gradient of {name}", got["grads"].get(name), g, shadow=grads64[name])


def check_block(block_class, in_channels: int, out_channels: int, stride: int = 1, *, seed: int = 0,
                batch: int = 4, size: int = 8, gradients: bool = False) -> None:
    """Fail with the fix unless ``block_class(in, out, stride)`` is the basic block, in both modes."""
    __tracebackhide__ = True
    args = (in_channels, out_channels, stride)
    what = f"BasicBlock{args}"
    ref = ReferenceBasicBlock(*args)
    state = block_state(ref, seed)
    ref.load_state_dict(state)
    x = torch.randn(batch, in_channels, size, size, generator=torch.Generator().manual_seed(seed + 1))
    got = probe_block(block_class, args, state, x)
    _diagnose(what, got, {k: tuple(v.shape) for k, v in state.items()}, count_params(ref))
    ref.eval()
    with torch.no_grad():
        expected, shadow = ref(x), in_float64(ref, x)
        if not matches(got["eval"], expected, shadow):
            if got["eval"].shape != expected.shape:
                raise CheckError(f"{what}: expected shape {tuple(expected.shape)}, got {tuple(got['eval'].shape)}: "
                                 f"conv1 has the stride, conv2 stride 1, both 3x3 with padding=1.")
            if matches(got["eval"], ref(x, relu_after_add=False), like=(expected, shadow)):
                raise CheckError(f"{what}: your output is the block's without the ReLU after the addition: "
                                 "return F.relu(out + self.shortcut(x)).")
            if matches(got["eval"], ref(x, relu_first=True), like=(expected, shadow)):
                raise CheckError(f"{what}: you apply the ReLU before adding the shortcut: add first, then "
                                 "F.relu(out + self.shortcut(x)).")
            raise CheckError(f"{what}: with the given weights (eval mode) your output differs from the block's: "
                             "conv1, bn1, ReLU, conv2, bn2, + shortcut(x), ReLU.")
    check_close(f"{what} in eval mode", got["eval"], expected, shadow=shadow)
    _check_train(what, got, ref, x, "output", gradients)


def check_resnet(resnet_class, *, seed: int = 0, batch: int = 4, gradients: bool = False) -> None:
    """Fail with the fix unless ``resnet_class(ReferenceBasicBlock)`` is the small ResNet."""
    __tracebackhide__ = True
    ref = ReferenceResNet()
    state = block_state(ref, seed)
    ref.load_state_dict(state)
    x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(seed + 1))
    got = probe_resnet(resnet_class, state, x)
    _diagnose("SmallResNet(block)", got, {k: tuple(v.shape) for k, v in state.items()}, 78_042)
    ref.eval()
    with torch.no_grad():
        expected, shadow = ref(x), in_float64(ref, x)
    if tuple(got["eval"].shape) != (batch, 10):
        raise CheckError(f"SmallResNet: expected shape (N, 10), got {tuple(got['eval'].shape)}: average over the "
                         "height and width (x.mean(dim=(2, 3))) before self.fc.")
    if not matches(got["eval"], expected, shadow):
        raise CheckError("SmallResNet: with the given weights your logits differ from the reference's: conv1, "
                         "bn1, ReLU, layer1, layer2, layer3, global average pooling, fc (no ReLU after fc).")
    check_close("SmallResNet logits in eval mode", got["eval"], expected, shadow=shadow)
    _check_train("SmallResNet", got, ref, x, "logits", gradients)


def check_evaluate(evaluate, *, seed: int = 0, n: int = 96) -> None:
    """``evaluate(model, images, labels)`` must give eval-mode accuracy and leave the model unchanged."""
    __tracebackhide__ = True
    ref = ReferenceResNet()
    state = block_state(ref, seed)
    ref.load_state_dict(state)
    ref.eval()
    g = torch.Generator().manual_seed(seed + 1)
    images = torch.randn(n, 3, 32, 32, generator=g)
    with torch.no_grad():
        predicted = ref(images).argmax(1)
    labels = torch.where(torch.rand(n, generator=g) < 0.6, predicted, torch.randint(0, 10, (n,), generator=g))
    expected = float((predicted == labels).float().mean())
    got = run_evaluate(evaluate, state, images, labels)
    if any(k.startswith("bn") or ".bn" in k or "running" in k for k in got["changed"]):
        raise CheckError("evaluate changed the BatchNorm running statistics: it ran the model in training mode. "
                         "Call model.eval() first (and evaluate under torch.no_grad()).")
    if got["changed"]:
        raise CheckError(f"evaluate changed the model's weights {got['changed'][:3]}: it must only measure.")
    if abs(got["accuracy"] - expected) > 1e-6:
        raise CheckError(f"evaluate returned {got['accuracy']:.4f}, expected the eval-mode accuracy {expected:.4f}: "
                         "the fraction (0 to 1) of images whose arg-max logit is the label.")
    print(f"OK evaluate: accuracy {expected:.4f} in eval mode, running statistics unchanged")


def _student_recipe(recipe) -> dict:
    """The student's ``recipe()``: a dict, which crosses as data, checked here."""
    __tracebackhide__ = True
    from dlcourse.exercises.assignments.sequence_checks import call_student

    return read_recipe(call_student("recipe()", recipe))


def check_recipe(recipe) -> None:
    """The visible test: ``recipe()`` returns a recipe the grader can run (no training)."""
    __tracebackhide__ = True
    got = _student_recipe(recipe)
    steps = math.ceil(N_TRAIN / got["batch_size"])
    print(f"OK recipe: {got['optimizer']} at lr {got['lr']:g}, {got['schedule']} schedule, batch {got['batch_size']} "
          f"({steps} steps over the {N_TRAIN:,} images)")


def scored_recipe(recipe: dict, seed: int = 0, n_train: int = N_TRAIN) -> dict:
    """Train with ``recipe`` (train_recipe) and label N_TEST test images: accuracy, seconds and the
    trained weights' digest. A job of ``dlcourse.graded_process``, which runs it in a fresh process."""
    from dlcourse.data import cifar10
    from dlcourse.graded_process import state_digest

    model, seconds = train_recipe(recipe, seed, n_train)   # which checks the recipe again, here
    test = cifar10("test", limit=N_TEST, seed=1)
    logits = predict(model, test.tensors[0])
    acc = float((torch.as_tensor(logits).argmax(1) == test.tensors[1]).float().mean())
    return {"accuracy": acc, "seconds": seconds, "digest": state_digest(model)}


def check_training(recipe, *, seed: int = 0) -> float:
    """Train a seeded ReferenceResNet with the student's recipe and test it, in the grader's own fresh
    process on the portable code path (``dlcourse.graded_process``); the test accuracy."""
    __tracebackhide__ = True
    from dlcourse.graded_process import run_graded

    got = run_graded("a04", recipe=_student_recipe(recipe), seed=seed)
    print(f"test accuracy after training with your recipe: {got['accuracy']:.1%} "
          f"(one pass over {N_TRAIN:,} images, {got['seconds']:.0f} s)")
    return got["accuracy"]
