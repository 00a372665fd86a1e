"""The checks of assignment a06 (an RNN for time series): the cell, the unrolled layer, the windows
of a series, and a sunspot forecaster that must beat the persistence forecast.

``check_rnn_cell`` and ``check_rnn_layer`` compare the student's functions with nn.RNNCell and
nn.RNN given the same weights, in values and gradients (``sequence_checks.check_parity``), and
name the usual mistakes. ``train_forecaster`` is the course driver that trains the design of a student's
``Forecaster`` on the yearly sunspot numbers with ``dlcourse.fit``, on the grader's own
copy of the design (traced once, rebuilt and started in the grader: ``designs``), so no code of
the student's sees a test window.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.checks import CheckError, check_close, outputs_and_grads, predict
from dlcourse.exercises.assignments.designs import on_rebuilt, rebuilt_design, windows
from dlcourse.exercises.assignments.sequence_checks import call_student, check_parity
from dlcourse.profiling import count_params

__all__ = ["CHAPTER", "READY_MADE_RNNS", "rnn_cell_inputs", "check_rnn_cell", "check_rnn_layer", "check_make_windows",
           "sunspot_split", "persistence_rmse", "forecaster", "train_forecaster", "trained_rmse",
           "check_forecaster_shape", "check_forecaster"]

CHAPTER = "17_rnn"   # the chapter notebook this assignment practises

# What "from the equations" rules out in Tasks 1 and 2 (the forecaster of Task 4 may use nn.RNN).
READY_MADE_RNNS = ("torch.nn.RNNCell", "torch.nn.RNN", "torch.nn.GRU", "torch.nn.LSTM", "torch.rnn_tanh_cell",
                   "torch.rnn_tanh", "torch.rnn_relu", "torch.rnn_relu_cell", "dlcourse.models.rnn.RNNCell",
                   "dlcourse.models.rnn.RNN", "dlcourse.models.rnn.rnn_tanh_step")
RULE = "Tasks 1 and 2 build the RNN from its equations (tensor operations, torch.tanh)"
SHAPE_HINTS = {"cannot be multiplied": "A weight is (out_features, in_features): multiply by its transpose, "
                                       "x @ weight_ih.T, h @ weight_hh.T.",
               "size of tensor a": "Check the shapes: x is (N, input_size), h (N, hidden_size), and "
                                   "each bias (hidden_size,)."}


INPUT_NAMES = ["x", "h", "weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def rnn_cell_inputs(n: int = 5, d: int = 3, h: int = 4, seed: int = 0) -> list[torch.Tensor]:
    """[x (n, d), h (n, h), weight_ih (h, d), weight_hh (h, h), bias_ih (h,), bias_hh (h,)], seeded."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g), torch.randn(n, h, generator=g) * 0.5,
            torch.randn(h, d, generator=g) * 0.5, torch.randn(h, h, generator=g) * 0.5,
            torch.randn(h, generator=g) * 0.1, torch.randn(h, generator=g) * 0.1]


def _torch_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """nn.RNNCell with these weights (torch.func keeps the gradients to them)."""
    cell = nn.RNNCell(w_ih.shape[1], w_ih.shape[0])
    return torch.func.functional_call(cell, {"weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": b_ih,
                                             "bias_hh": b_hh}, (x, h))


def _cell_variant(act=torch.tanh, hh_bias=True, ih_bias=True, recurrent=True):
    def cell(x, h, w_ih, w_hh, b_ih, b_hh):
        pre = x @ w_ih.T + (b_ih if ih_bias else 0) + (h @ w_hh.T if recurrent else 0) + (b_hh if hh_bias else 0)
        return act(pre)
    return cell


CELL_MISTAKES = {
    "a sigmoid instead of tanh": (_cell_variant(act=torch.sigmoid), "h' = tanh(...), whose outputs lie in (-1, 1)."),
    "ReLU instead of tanh": (_cell_variant(act=torch.relu), "nn.RNNCell's default nonlinearity is tanh."),
    "a cell without bias_hh": (_cell_variant(hh_bias=False), "add both biases, bias_ih and bias_hh."),
    "a cell without bias_ih": (_cell_variant(ih_bias=False), "add both biases, bias_ih and bias_hh."),
    "a cell that ignores h": (_cell_variant(recurrent=False), "add h @ weight_hh.T: the new state depends on "
                                                             "the previous one."),
    "no nonlinearity": (_cell_variant(act=lambda z: z), "apply torch.tanh to the sum."),
}


def check_rnn_cell(rnn_cell, n: int = 5, d: int = 3, h: int = 4, seed: int = 0) -> None:
    """The student's ``rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)`` == nn.RNNCell, values and grads."""
    __tracebackhide__ = True
    check_parity(f"rnn_cell (N={n}, input {d}, hidden {h})", rnn_cell, _torch_cell, rnn_cell_inputs(n, d, h, seed),
                 mistakes=CELL_MISTAKES, forbidden=READY_MADE_RNNS, rule=RULE, hints=SHAPE_HINTS,
                 output_names=["h'"], input_names=INPUT_NAMES)


def _torch_layer(x, h0, w_ih, w_hh, b_ih, b_hh):
    rnn = nn.RNN(w_ih.shape[1], w_ih.shape[0], batch_first=True)
    out, h_n = torch.func.functional_call(rnn, {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh, "bias_ih_l0": b_ih,
                                                "bias_hh_l0": b_hh}, (x, h0.unsqueeze(0)))
    return out, h_n[0]


def _layer_variant(start_at_zero=False, shifted=False, seq_first=False):
    def layer(x, h0, w_ih, w_hh, b_ih, b_hh):
        h = torch.zeros_like(h0) if start_at_zero else h0
        xs = x.unbind(0 if seq_first else 1)
        outs = []
        for x_t in xs:
            new = torch.tanh(x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
            outs.append(h if shifted else new)
            h = new
        return torch.stack(outs, 1), h
    return layer


LAYER_MISTAKES = {
    "a loop that starts from zeros, not h0": (_layer_variant(start_at_zero=True), "start the loop from the "
                                                                                  "given h0: h = h0."),
    "outputs that hold the state before each step": (_layer_variant(shifted=True),
                                                     "append the new state after computing it: outputs[:, t] is "
                                                     "h_t, the state after reading x[:, t]; h0 is not an output."),
}


def check_rnn_layer(rnn_layer, n: int = 3, t: int = 6, d: int = 2, h: int = 5, seed: int = 1) -> None:
    """The student's ``rnn_layer(x, h0, ...)`` -> (outputs (N, T, H), h_T (N, H)) == nn.RNN(batch_first=True)."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, t, d, generator=g)
    inputs = [x] + rnn_cell_inputs(n, d, h, seed)[1:]
    check_parity(f"rnn_layer (N={n}, T={t}, input {d}, hidden {h})", rnn_layer, _torch_layer, inputs,
                 mistakes=LAYER_MISTAKES, forbidden=READY_MADE_RNNS, rule=RULE, hints=SHAPE_HINTS,
                 output_names=["outputs", "h_T"], input_names=["x", "h0"] + INPUT_NAMES[2:])


# ----------------------------------------------------------------------------- windows
def _windows(series: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = series.unfold(0, window, 1)[:-1]                     # (len - window, window)
    return x.unsqueeze(-1).clone(), series[window:].clone()


def check_make_windows(make_windows, series: torch.Tensor, window: int) -> None:
    """The student's ``make_windows(series, window)`` -> X (M, window, 1), y (M,), M = len - window."""
    __tracebackhide__ = True
    label = f"make_windows(series of {len(series)}, window={window})"
    before = series.clone()
    result = call_student(label, make_windows, series, window)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise CheckError(f"{label}: return the pair (X, y); got {type(result).__name__}.")
    X, y = result
    X_ref, y_ref = _windows(series, window)
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise CheckError(f"{label}: return two tensors, X and y; got {type(X).__name__} and {type(y).__name__}.")
    if X.shape != X_ref.shape:
        hint = (" Add the feature dimension: X.unsqueeze(-1)." if X.shape == X_ref.shape[:2]
                else f" There are len(series) - window = {len(X_ref)} windows: the last one ends just before "
                     "the last value, which is its target." if X.dim() == 3 and X.shape[1:] == X_ref.shape[1:]
                else "")
        raise CheckError(f"{label}: X has shape {tuple(X.shape)}, expected {tuple(X_ref.shape)}.{hint}")
    if y.shape != y_ref.shape:
        raise CheckError(f"{label}: y has shape {tuple(y.shape)}, expected {tuple(y_ref.shape)} (one target per "
                         "window, no feature dimension).")
    if torch.equal(y, X_ref[:, -1, 0]):
        raise CheckError(f"{label}: each y is the last value of its own window, which the model already sees; "
                         "the target is the value right after the window: y[i] = series[i + window].")
    check_close(f"{label}, X", X, X_ref, atol=0, rtol=0)
    check_close(f"{label}, y", y, y_ref, atol=0, rtol=0)
    if not torch.equal(series, before):
        raise CheckError(f"{label}: make_windows changed its input series in place; build new tensors.")


# ----------------------------------------------------------------------------- the forecaster
TEST_FROM = 1949  # the years 1949-2008 (60) are the test set; mean and std from the years before


def sunspot_split(window: int) -> dict:
    """Normalised yearly sunspots as windows: {"X_train", "y_train", "X_test", "y_test", "std"} (tensors)."""
    from dlcourse.data import load_sunspots

    years, values = load_sunspots()
    n_train = int((years < TEST_FROM).sum())
    mean, std = float(values[:n_train].mean()), float(values[:n_train].std())
    z = torch.tensor((values - mean) / std, dtype=torch.float32)
    X, y = _windows(z, window)
    target_index = torch.arange(window, len(z))
    train = target_index < n_train
    return {"X_train": X[train], "y_train": y[train], "X_test": X[~train], "y_test": y[~train], "std": std}


def persistence_rmse(window: int = 12) -> float:
    """RMSE, in sunspots, of forecasting each test year by the year before."""
    d = sunspot_split(window)
    return float(((d["X_test"][:, -1, 0] - d["y_test"]) ** 2).mean().sqrt()) * d["std"]


def forecaster(forecaster_class, seed: int = 0, window: int = 12, init: dict | None = None):
    """``forecaster_class(**init)`` rebuilt here in float64 from its trace on windows of ``window``
    years (``designs.rebuilt_design``), its layers started with ``seed``."""
    __tracebackhide__ = True
    return rebuilt_design(forecaster_class, (), init, inputs=windows(window), name="Forecaster",
                          dtype=torch.float64, seed=seed)


def train_forecaster(model, seed: int = 0, window: int = 12, epochs: int = 60, lr: float = 1e-2) -> dict:
    """Train ``model`` (the design rebuilt here) on the sunspot windows with dlcourse.fit (MSE, Adam,
    batches of 32); {"train_loss"}."""
    from torch.utils.data import DataLoader, TensorDataset

    from dlcourse.device import graded, graded_run
    from dlcourse.train import fit

    d = sunspot_split(window)
    with graded_run():  # float64 on one thread: the same score on every machine
        torch.manual_seed(seed)
        loader = DataLoader(TensorDataset(graded(d["X_train"]), graded(d["y_train"])), batch_size=32, shuffle=True,
                            generator=torch.Generator().manual_seed(seed))
        history = fit(model, loader, torch.optim.Adam(model.parameters(), lr=lr), epochs=epochs, loss_fn=_mse,
                      metrics=(), device="cpu", amp=False, progress=False, live_plot=False)
    return {"train_loss": float(history["train_loss"][-1])}


def forecast_rmse(model, window: int = 12) -> float:
    """Test RMSE, in sunspots, of ``model``; the errors are counted here."""
    d = sunspot_split(window)
    pred = predict(model, d["X_test"].double())  # in float64, as it was trained
    rmse = float(((pred.reshape(-1) - d["y_test"]) ** 2).mean().sqrt()) * d["std"]
    return rmse if math.isfinite(rmse) else float("inf")


def _mse(pred, y):
    if pred.shape != y.shape:
        raise ValueError(f"the forecaster returned shape {tuple(pred.shape)} for a batch of {len(y)} windows; "
                         f"return one prediction per window, shape ({len(y)},)")
    return F.mse_loss(pred, y)


def forecaster_probe(model, n: int = 4, window: int = 12, seed: int = 0) -> dict:
    """Shape of the output, and whether every parameter gets a gradient, on random windows."""
    g = torch.Generator().manual_seed(seed)
    got = outputs_and_grads(model, [torch.randn(n, window, 1, generator=g, dtype=torch.float64)], seed=seed)
    out = got["outputs"][0] if len(got["outputs"]) == 1 else got["outputs"]
    return {"shape": list(out.shape) if isinstance(out, torch.Tensor) else str(out),
            "no_grad": [name for name, grad in got.get("param_grads", {}).items() if grad is None],
            "n_params": count_params(model)}


def check_forecaster_shape(forecaster_class) -> None:
    __tracebackhide__ = True
    probe = on_rebuilt("Forecaster()(x) with x of shape (4, 12, 1)", forecaster_probe, forecaster(forecaster_class))
    if probe["shape"] != [4]:
        raise CheckError(f"Forecaster()(x) with x of shape (4, 12, 1) returned {probe['shape']}, expected [4]: one "
                         "number per window (the next year's value): e.g. self.head(h_T).squeeze(-1).")
    if probe["no_grad"]:
        raise CheckError(f"Forecaster: parameters {probe['no_grad']} get no gradient; does forward use them?")
    print(f"OK Forecaster: output shape (4,) for 4 windows, {probe['n_params']} parameters, all with gradients")


def trained_rmse(forecaster_class, seed: int = 0, window: int = 12) -> tuple[float, float]:
    """(test RMSE in sunspots, final training loss) of the student's design rebuilt, trained and
    scored here: what ``check_forecaster`` grades (and ``benchmarks/tier_margins.py`` measures)."""
    __tracebackhide__ = True
    model = forecaster(forecaster_class, seed, window)
    result = on_rebuilt(f"training Forecaster (seed {seed}, window {window})", train_forecaster, model, seed, window)
    return forecast_rmse(model, window), result["train_loss"]


def check_forecaster(forecaster_class, seed: int = 0, window: int = 12) -> None:
    """Train the student's design, rebuilt here, and require a test RMSE below persistence's."""
    __tracebackhide__ = True
    rmse, train_loss = trained_rmse(forecaster_class, seed, window)
    base = persistence_rmse(window)
    if not rmse < base:
        raise CheckError(f"Forecaster (seed {seed}, window {window}): test RMSE {rmse:.1f} sunspots, not below the "
                         f"persistence forecast's {base:.1f} (training loss at the end {train_loss:.3f}). "
                         "Read the state after the last step (h_T), map it to one number with a Linear layer, "
                         "and keep the hidden size modest (16-64).")
    print(f"OK Forecaster (seed {seed}, window {window}): test RMSE {rmse:.1f} sunspots < persistence {base:.1f}")
