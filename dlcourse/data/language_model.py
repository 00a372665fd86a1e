"""Data for next-token prediction: characters as tokens, and windows of a token stream.

A language model's training example is a window of ``block_size`` tokens and the same window
shifted by one: at every position the target is the token that follows. nanoGPT's character
setup for Tiny Shakespeare: the 65 distinct characters are the vocabulary, the first 90% of the
text trains and the last 10% validates (a contiguous split, so no validation line was seen).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

__all__ = ["CharTokenizer", "NextTokenWindows", "split_stream", "window_loader"]


class CharTokenizer:
    """Each distinct character of a text is one token, numbered in sorted order (nanoGPT's ``stoi``)."""

    def __init__(self, text: str):
        self.itos = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - self.stoi.keys())
        if unknown:
            raise ValueError(f"CharTokenizer: {unknown[:5]} are not in its {len(self)} characters; "
                             "build it from a text that holds them (or drop them first).")
        return [self.stoi[c] for c in text]

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else ids
        return "".join(self.itos[i] for i in ids)


def split_stream(ids: torch.Tensor, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, val): the first 1 - val_fraction of the stream and the rest, contiguous."""
    cut = int(len(ids) * (1 - val_fraction))
    return ids[:cut], ids[cut:]


class NextTokenWindows(Dataset):
    """Item i: (ids[i : i + block_size], ids[i + 1 : i + block_size + 1]), every start that fits."""

    def __init__(self, ids: torch.Tensor, block_size: int):
        if len(ids) <= block_size:
            raise ValueError(f"NextTokenWindows: a stream of {len(ids)} tokens holds no window of "
                             f"{block_size} + 1; use a shorter block_size or more text.")
        self.ids, self.block_size = torch.as_tensor(ids, dtype=torch.long), block_size

    def __len__(self) -> int:
        return len(self.ids) - self.block_size

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        chunk = self.ids[i:i + self.block_size + 1]
        return chunk[:-1], chunk[1:]


def window_loader(ids: torch.Tensor, block_size: int, batch_size: int, steps: int, seed: int = 0) -> DataLoader:
    """``steps`` batches of windows at random starts (drawn with replacement, as nanoGPT's
    ``get_batch``): a budget counted in steps, since one pass over every start of a 1M-token
    stream would be a million nearly identical windows."""
    windows = NextTokenWindows(ids, block_size)
    sampler = RandomSampler(windows, replacement=True, num_samples=steps * batch_size,
                            generator=torch.Generator().manual_seed(seed))
    return DataLoader(windows, batch_size=batch_size, sampler=sampler)
