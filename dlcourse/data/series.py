"""Time series to supervised pairs: sliding windows, a chronological split, the persistence forecast."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["sliding_windows", "persistence_rmse"]


def sliding_windows(values, window: int, start: int = 0, stop: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (N, window, 1) = values[t - window: t] and targets (N, 1) = values[t], for every t in
    [max(start, window), stop): the targets lie in values[start:stop], the inputs may reach back before
    ``start`` (they are the past, known at forecast time), never at or after t."""
    values = torch.as_tensor(np.asarray(values, dtype=np.float32))
    if values.dim() != 1:
        raise ValueError(f"sliding_windows takes a 1-D series; got shape {tuple(values.shape)}.")
    stop = len(values) if stop is None else stop
    if not 1 <= window < stop:
        raise ValueError(f"window must be between 1 and {stop - 1} for a series of {stop} usable steps; got {window}.")
    ts = range(max(start, window), stop)
    x = torch.stack([values[t - window:t] for t in ts]).unsqueeze(-1)
    return x, values[list(ts)].unsqueeze(-1)


def persistence_rmse(values, start: int, stop: int | None = None) -> float:
    """RMSE of the naive forecast "next year = this year" for the targets values[start:stop]."""
    values = np.asarray(values, dtype=np.float64)
    stop = len(values) if stop is None else stop
    if start < 1:
        raise ValueError("the persistence forecast of values[t] is values[t - 1]: start must be >= 1.")
    return float(np.sqrt(np.mean((values[start:stop] - values[start - 1:stop - 1]) ** 2)))
