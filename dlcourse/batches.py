"""Batches as the training loop sees them: (inputs, targets) pairs, nested tensors moved to a device,
and how many examples a batch holds (for running means over unequal batches)."""
from __future__ import annotations

from collections.abc import Mapping

import torch

from .memory_format import to_channels_last

__all__ = ["pair", "to_device", "batch_size"]


def pair(batch):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError("each batch must be a pair (inputs, targets); got "
                         f"{type(batch).__name__}"
                         f"{f' of length {len(batch)}' if isinstance(batch, (tuple, list)) else ''}."
                         " Wrap your tensors in a TensorDataset(x, y), or pass fit(..., step=...) for other batches.")
    return batch


def to_device(batch, device: torch.device, channels_last: bool = False):
    """Every tensor of a batch (nested in tuples, lists, dicts) moved to ``device`` (4-D images channels-last)."""
    if channels_last:
        return to_channels_last(to_device(batch, device))
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        items = [to_device(v, device) for v in batch]
        return type(batch)(*items) if hasattr(batch, "_fields") else type(batch)(items)  # namedtuples too
    return batch


def batch_size(batch) -> int:
    """Examples in a batch: rows of x in (x, y) or {"x": x, ...}, or of a namedtuple x's first field;
    the length of a list of images."""
    first = batch
    if isinstance(batch, Mapping):
        first = next(iter(batch.values()))
    elif isinstance(batch, (tuple, list)):
        first = batch[0]
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # named inputs, e.g. text's (ids, lengths)
        first = first[0]
    if isinstance(first, torch.Tensor) and first.dim() > 0:
        return first.shape[0]
    if isinstance(first, (tuple, list)):
        return len(first)
    raise ValueError("cannot tell how many examples this batch holds: return {'loss': ..., 'n': <batch size>} "
                     "from the step function.")
