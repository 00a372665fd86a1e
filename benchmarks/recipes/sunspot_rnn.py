"""An Elman RNN forecasts next year's sunspot number with a test RMSE below the persistence forecast's.

Data: statsmodels' yearly mean sunspot numbers 1700-2008 (dlcourse.data.load_sunspots). Train on
targets 1720-1948, test on 1949-2008 (60 years, chronological: the model never sees the future).
Values are standardised with the training years' mean and standard deviation. Inputs are the 20
previous years (about two 11-year cycles); the target is the next year.

Model (dlcourse.models.rnn_tasks.RNNForecaster with dlcourse.models.RNN, built from the equations
and proven equal to nn.RNN in tests/test_rnn.py): one tanh layer of 32 units, a linear head on the
last state. Adam 3e-3, batches of 32, 150 epochs, gradient norm clipped at 1, MSE loss.

Baseline and target: the persistence forecast ("next year = this year"), whose test RMSE is
32.90; the RNN must do better. Both are listed as variants in RESULTS.md.
Anchor: persistence, and the classic autoregressive fits to this series (Box & Jenkins' AR(2)/AR(9);
statsmodels' own tutorial fits AR/ARMA models on it).
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse.data import load_sunspots, persistence_rmse, sliding_windows
from dlcourse.device import describe_device
from dlcourse.models.rnn_tasks import RNNForecaster

METRIC = "sunspots test RMSE 1949-2008 (RNN, 20-year window)"
TARGET = 32.90
BETTER = "lower"
ANCHOR = "persistence forecast, RMSE 32.90 on the same years"
WINDOW, TEST_FROM = 20, 1949


def sunspot_data(window: int = WINDOW, test_from: int = TEST_FROM):
    """Standardised (train, test) TensorDatasets, the scale (std) and the persistence RMSE."""
    years, values = load_sunspots()
    split = int(np.searchsorted(years, test_from))
    mean, std = values[:split].mean(), values[:split].std()
    z = (values - mean) / std
    train = TensorDataset(*sliding_windows(z, window, stop=split))
    test = TensorDataset(*sliding_windows(z, window, start=split))
    return train, test, float(std), persistence_rmse(values, split)


def run(epochs: int = 150, hidden_size: int = 32, seed: int = 0) -> dict:
    device = dlcourse.setup(seed=seed)
    train, test, std, persistence = sunspot_data()
    torch.manual_seed(seed)
    model = RNNForecaster("rnn", 1, hidden_size, impl="ours")
    h = dlcourse.fit(model, DataLoader(train, 32, shuffle=True, generator=torch.Generator().manual_seed(seed)),
                     torch.optim.Adam(model.parameters(), lr=3e-3), epochs=epochs, loss_fn=torch.nn.functional.mse_loss,
                     metrics=(), val_loader=DataLoader(test, 256), clip_grad=1.0, device=device, amp=False,
                     progress=False, live_plot=False)
    curve = [float(np.sqrt(loss)) * std for loss in h["val_loss"]]   # RMSE in sunspot numbers
    machine = f"{device}: {describe_device(device)}, torch threads: {torch.get_num_threads()}"
    print(f"  RNN test RMSE {curve[-1]:.2f}, persistence {persistence:.2f}, {sum(h['time']):.0f} s")
    return {"value": curve[-1], "curve": curve, "epoch_seconds": h["time"], "machine": machine,
            "variants": [{"name": "RNN (tanh, 32 units, 20-year window)", "value": curve[-1], "total_s": sum(h["time"])},
                         {"name": "persistence (next year = this year)", "value": persistence, "total_s": 0.0}]}
