"""The checks of assignment a03 (LeNet-5 on MNIST): a student's model class against the course's.

``probe`` builds the student's class, loads a state dict the grader made, runs a batch and
returns plain data (the parameter shapes, the output shape after every stage, the logits, the
gradients); while grading it runs in the grader and drives the student's model through the
proxy (``dlcourse.reach``), so nothing it reports is computed by code the student can change
but their model's own.
``check_lenet5`` compares that here with :class:`ReferenceLeNet5` under the same weights and,
when they differ, names the usual mistake: no flatten, conv1 without padding (28x28 turns into
24x24), a forgotten ReLU, a wrong layer size, a missing last layer. ``train_lenet5`` is the
course's short training run (fixed recipe and seed) the hidden tests grade by test accuracy; it
trains the grader's own copy of the student's design (``designs.rebuilt_design``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.checks import CheckError, check_close, matches, outputs_and_grads, student_error_text
from dlcourse.exercises.assignments.designs import images, rebuilt_design
from dlcourse.precision import in_float64
from dlcourse.profiling import count_params

__all__ = ["CHAPTER", "ReferenceLeNet5", "LAYERS", "SHAPES", "STAGES", "N_PARAMS", "probe", "check_lenet5",
           "reference_logits", "train_lenet5", "check_training", "check_conv_output_size"]

CHAPTER = "10_lenet5"   # the chapter notebook this assignment practises
TRAINS_ON = ("mnist",)  # all the grading sandbox may read (grading.data_view)

# The modern LeNet-5 (LeCun et al. 1998 with ReLU and max pooling, 28x28 input padded by 2).
LAYERS = ("conv1", "conv2", "fc1", "fc2", "fc3")
SHAPES = {"conv1.weight": (6, 1, 5, 5), "conv1.bias": (6,), "conv2.weight": (16, 6, 5, 5), "conv2.bias": (16,),
          "fc1.weight": (120, 400), "fc1.bias": (120,), "fc2.weight": (84, 120), "fc2.bias": (84,),
          "fc3.weight": (10, 84), "fc3.bias": (10,)}
N_PARAMS = 61_706
# (layer, "in" or "out") -> the shape per example that the stage sees.
STAGES = {("conv1", "in"): (1, 28, 28), ("conv1", "out"): (6, 28, 28), ("conv2", "in"): (6, 14, 14),
          ("conv2", "out"): (16, 10, 10), ("fc1", "in"): (400,), ("fc1", "out"): (120,), ("fc2", "out"): (84,),
          ("fc3", "out"): (10,)}
_STAGE_FIX = {
    ("conv1", "out"): "conv1 must keep 28x28: a 5x5 kernel needs padding=2 (without it 28x28 turns into 24x24 "
                      "here, and 16x4x4 = 256 features reach fc1 instead of 16x5x5 = 400)",
    ("conv2", "in"): "pool after conv1 (2x2 max pooling, stride 2) halves 28x28 to 14x14",
    ("conv2", "out"): "conv2 has no padding: 14x14 becomes 10x10",
    ("fc1", "in"): "flatten the (N, 16, 5, 5) maps to (N, 400) before fc1: x = x.flatten(1), after the second pooling",
}


class ReferenceLeNet5(nn.Module):
    """The course's LeNet-5: conv 6@5x5 pad 2, pool, conv 16@5x5, pool, 120, 84, 10 (61,706 parameters)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        return _forward(self, x)


def _forward(m, x, relus=(True, True, True, True), pool=F.max_pool2d, relu_out=False):
    act = [F.relu if on else (lambda t: t) for on in relus]
    x = pool(act[0](m.conv1(x)), 2)
    x = pool(act[1](m.conv2(x)), 2).flatten(1)
    x = m.fc3(act[3](m.fc2(act[2](m.fc1(x)))))
    return F.relu(x) if relu_out else x


def reference_logits(state_dict: dict, x: torch.Tensor, **mistake) -> torch.Tensor:
    """The reference's logits under ``state_dict``; ``mistake`` replays a usual bug (see MISTAKES)."""
    m = ReferenceLeNet5()
    m.load_state_dict(state_dict)
    return _forward(m, x, **mistake)


_OFF = lambda k: tuple(i != k for i in range(4))  # noqa: E731 - every ReLU but the k-th
MISTAKES = {
    "no ReLU at all": (dict(relus=(False,) * 4), "apply F.relu after conv1, conv2, fc1 and fc2 (not after fc3)"),
    "no ReLU after conv1": (dict(relus=_OFF(0)), "apply F.relu to conv1's output, before pooling"),
    "no ReLU after conv2": (dict(relus=_OFF(1)), "apply F.relu to conv2's output, before pooling"),
    "no ReLU after fc1": (dict(relus=_OFF(2)), "apply F.relu to fc1's output"),
    "no ReLU after fc2": (dict(relus=_OFF(3)), "apply F.relu to fc2's output"),
    "a ReLU on the logits": (dict(relu_out=True), "fc3's output are the logits: no ReLU after the last layer"),
    "average pooling": (dict(pool=F.avg_pool2d), "this LeNet-5 pools with the maximum: F.max_pool2d(x, 2)"),
}


def reference_state(seed: int) -> dict:
    """Seeded weights for the reference layout, drawn in the grader (fresh tensors every call)."""
    torch.manual_seed(seed)
    return {k: v.clone() for k, v in ReferenceLeNet5().state_dict().items()}


# ----------------------------------------------------------------------------- probing the student's class
def probe(model_class, state_dict: dict | None, x: torch.Tensor, seed: int = 0) -> dict:
    """Build ``model_class()``, load ``state_dict``, run ``x`` forward and backward; data only.

    Runs here and drives the student's model (while grading, through the proxy: one request
    per step, only data back). Every step's failure is caught, so a broken model still gives
    what could be measured (and the error), which the check turns into advice; the grader's
    own failures (a timeout) are not caught.
    """
    out: dict = {"stages": {}}
    try:
        model = model_class()
    except Exception as e:  # noqa: BLE001 - the student's __init__ failed: report it
        return {**out, "error": ("__init__", student_error_text(e))}
    out["shapes"] = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    out["n_params"] = count_params(model)
    if state_dict is not None:
        try:
            model.load_state_dict(state_dict)
        except Exception as e:  # noqa: BLE001
            return {**out, "error": ("load_state_dict", student_error_text(e))}
    hooks = []
    for name in LAYERS:
        def hook(module, args, output, name=name):
            if args and isinstance(args[0], torch.Tensor):
                out["stages"][f"{name}:in"] = tuple(args[0].shape[1:])
            if isinstance(output, torch.Tensor):
                out["stages"][f"{name}:out"] = tuple(output.shape[1:])
        try:
            hooks.append(getattr(model, name).register_forward_hook(hook))
        except Exception as e:  # noqa: BLE001 - no such layer: the shapes check names it
            student_error_text(e)
    try:
        got = outputs_and_grads(model, [x], seed=seed)
        out["logits"], out["grads"] = got["outputs"][0], got.get("param_grads", {})
    except Exception as e:  # noqa: BLE001
        out["error"] = ("forward", student_error_text(e))
    finally:
        for h in hooks:
            h.remove()
    return out


# ----------------------------------------------------------------------------- the checks (grader's side)
def _shape_text(shape) -> str:
    return "(N, " + ", ".join(str(s) for s in shape) + ")"


def check_lenet5(model_class, *, seed: int = 0, batch: int = 4, gradients: bool = False) -> None:
    """Fail with the fix unless ``model_class()`` is LeNet-5 with the reference's layout and outputs."""
    __tracebackhide__ = True
    state = reference_state(seed)
    torch.manual_seed(seed + 1)
    x = torch.randn(batch, 1, 28, 28)
    got = probe(model_class, None, x)
    if not isinstance(got, dict):
        raise CheckError("the probe got nothing back from your class")
    where, message = got.get("error") or (None, None)
    if where == "__init__":
        if "NotImplementedError" in message:
            raise CheckError("LeNet5 still raises NotImplementedError: write __init__ and forward.")
        raise CheckError(f"LeNet5() raised {message}")
    shapes = got.get("shapes", {})
    missing = [k for k in SHAPES if k not in shapes]
    if missing:
        raise CheckError(f"LeNet5's state dict has no {missing}: name the layers self.conv1, self.conv2, self.fc1, "
                         f"self.fc2 and self.fc3 (nn.Conv2d, nn.Linear), so their weights load by those names. "
                         f"Your keys: {sorted(shapes)}.")
    for key, expected in SHAPES.items():
        if shapes[key] != expected:
            hint = ("fc1 must take 16x5x5 = 400 inputs; 256 = 16x4x4 is what conv1 without padding gives: use "
                    "padding=2 in conv1 and keep fc1 = nn.Linear(400, 120)" if key == "fc1.weight"
                    and shapes[key][1:] == (256,) else "the layer sizes are conv 6@5x5, conv 16@5x5, 120, 84, 10")
            raise CheckError(f"{key} has shape {tuple(shapes[key])}, expected {expected}: {hint}.")
    extra = sorted(set(shapes) - set(SHAPES))
    if got["n_params"] != N_PARAMS or extra:
        raise CheckError(f"LeNet5 has {got['n_params']:,} parameters, expected {N_PARAMS:,}"
                         + (f"; extra entries {extra}: remove the layers LeNet-5 does not have." if extra else "."))
    print(f"OK parameters: {N_PARAMS:,}, layers {', '.join(LAYERS)} with the expected shapes")
    got = probe(model_class, state, x)
    where, message = got.get("error") or (None, None)
    stages = {tuple(k.split(":")): v for k, v in got.get("stages", {}).items()}
    for stage, expected in STAGES.items():
        if stage in stages and stages[stage] != expected and stage in _STAGE_FIX:
            raise CheckError(f"the {stage[0]} {'input' if stage[1] == 'in' else 'output'} has shape "
                             f"{_shape_text(stages[stage])}, expected {_shape_text(expected)}: {_STAGE_FIX[stage]}.")
    if where == "forward":
        if "mat1 and mat2" in message or ("fc1", "in") not in stages:
            raise CheckError(f"forward raised {message}. Flatten the (N, 16, 5, 5) maps to (N, 400) before fc1: "
                             "x = x.flatten(1).")
        raise CheckError(f"forward raised {message}")
    logits = got["logits"]
    if tuple(logits.shape) != (batch, 10):
        hint = (": is the last Linear layer (fc3, 84 -> 10) missing from forward?" if tuple(logits.shape[1:]) == (84,)
                else ": forward must return the (N, 10) logits of fc3")
        raise CheckError(f"expected shape (N, 10), got {_shape_text(logits.shape[1:])}{hint}")
    print("OK shapes: (N, 1, 28, 28) -> conv1 (N, 6, 28, 28) -> pool (N, 6, 14, 14) -> conv2 (N, 16, 10, 10) "
          "-> pool, flatten (N, 400) -> (N, 120) -> (N, 84) -> (N, 10)")
    expected, shadow = reference_logits(state, x), in_float64(reference_logits, state, x)
    if not matches(logits, expected, shadow):
        for what, (mistake, fix) in MISTAKES.items():
            if matches(logits, reference_logits(state, x, **mistake), like=(expected, shadow)):
                raise CheckError(f"with the given weights your logits are those of LeNet-5 with {what}: {fix}.")
        raise CheckError("with the given weights your logits differ from LeNet-5's: the order is conv1, ReLU, "
                         "max-pool 2, conv2, ReLU, max-pool 2, flatten, fc1, ReLU, fc2, ReLU, fc3.")
    check_close(f"logits with the given weights (batch {batch})", logits, expected, shadow=shadow)
    if gradients:
        grads, shadows = reference_grads(state, x), in_float64(reference_grads, state, x)
        for name, g in grads.items():
            check_close(f"gradient of {name}", got.get("grads", {}).get(name), g, shadow=shadows[name])


def reference_grads(state_dict: dict, x: torch.Tensor, seed: int = 0) -> dict:
    """The reference's parameter gradients of the seeded projection of its logits (as ``probe``'s)."""
    m = ReferenceLeNet5()
    m.load_state_dict(state_dict)
    return outputs_and_grads(m, [x], seed=seed)["param_grads"]


# ----------------------------------------------------------------------------- training
def train_lenet5(model, n_train: int = 8000, seed: int = 0) -> None:
    """The course's short run on ``model`` (the student's design rebuilt here): one epoch over
    ``n_train`` MNIST training images, Adam 2e-3, batch 32, seeded. About 4 s on one CPU core, in
    float64 (``graded_run``: the same score on every CPU)."""
    import dlcourse
    from dlcourse.data import mnist
    from dlcourse.device import graded, graded_run

    with graded_run():
        torch.manual_seed(seed)
        images, labels = mnist("train", limit=n_train, seed=seed).tensors
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(graded(images), labels), batch_size=32,
                                             shuffle=True, generator=torch.Generator().manual_seed(seed))
        dlcourse.fit(model, loader, torch.optim.Adam(model.parameters(), lr=2e-3), epochs=1, amp=False,
                     device="cpu", progress=False, live_plot=False)


def check_training(model_class, *, threshold: float = 0.92, n_test: int = 2000, n_train: int = 8000,
                   seed: int = 0) -> float:
    """Train the student's class with the course's recipe and test it on MNIST's test images, all here.

    The class crosses once, as its traced graph (``designs.rebuilt_design``): the grader starts
    every layer itself, trains that copy and counts the test accuracy, so neither weights from
    the student's process nor a forward of theirs that recognises test images count. Their class
    must also compute LeNet-5 with the trained weights (checked on training images)."""
    __tracebackhide__ = True
    from dlcourse.data import mnist

    model = rebuilt_design(model_class, inputs=images((1, 28, 28)), name="LeNet5", dtype=torch.float64, seed=seed)
    train_lenet5(model, n_train, seed)
    state = {name: value.detach().float() for name, value in model.named_state().items()}
    reference = ReferenceLeNet5()
    try:
        reference.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise CheckError(f"the trained weights do not fit LeNet-5's layout ({str(e).splitlines()[0][:200]}): "
                         "keep the layers and names of task 2.") from None
    few = mnist("train", limit=8, seed=seed + 1).tensors[0]   # no test image reaches the student's process
    with torch.no_grad():
        logits = reference.eval()(few)
    got = probe(model_class, state, few)
    if "logits" not in got or not matches(got["logits"], logits, in_float64(reference, few)):
        raise CheckError("with its trained weights your LeNet5 does not compute what LeNet-5 computes with them: "
                         "make the parity tests above pass first.")
    test = mnist("test", limit=n_test, seed=1)
    model.eval()   # the trained copy, in float64 as it was trained: the same count on every machine
    with torch.no_grad():
        acc = float((model(test.tensors[0].double()).argmax(1) == test.tensors[1]).float().mean())
    if acc < threshold:
        raise CheckError(f"after one epoch on {n_train:,} images the test accuracy is {acc:.1%}, below "
                         f"{threshold:.0%}: LeNet-5 reaches 93.4-97.1% with this recipe (seeds 0-9).")
    print(f"OK test accuracy after one epoch on {n_train:,} MNIST images: {acc:.1%} (at least {threshold:.0%})")
    return acc


# ----------------------------------------------------------------------------- task 1
CONV_CASES = ((28, 5, 2, 1, 28), (28, 5, 0, 1, 24), (28, 2, 0, 2, 14), (14, 5, 0, 1, 10), (10, 2, 0, 2, 5),
              (32, 3, 1, 2, 16), (7, 3, 0, 2, 3))


def check_conv_output_size(conv_output_size, cases=CONV_CASES) -> None:
    """``conv_output_size(size, kernel, padding, stride)`` must be floor((size + 2p - k) / s) + 1, an int."""
    __tracebackhide__ = True
    for size, k, p, s, expected in cases:
        got = conv_output_size(size, k, p, s)
        if not isinstance(got, int) or isinstance(got, bool):
            raise CheckError(f"conv_output_size({size}, {k}, {p}, {s}) returned {got!r}, a "
                             f"{type(got).__name__}: return an int (use // for the division).")
        if got != expected:
            hint = (" (padding counts twice: both sides)" if got == (size + p - k) // s + 1 else
                    " (divide by the stride before adding 1)" if got == (size + 2 * p - k + 1) // s else
                    ": the formula is (size + 2 * padding - kernel) // stride + 1")
            raise CheckError(f"conv_output_size({size}, kernel={k}, padding={p}, stride={s}) returned {got}, "
                             f"expected {expected}{hint}.")
    print(f"OK conv_output_size on {len(cases)} cases")
