"""Synthetic scenes for detection and segmentation (chapters 15 and 16): real MNIST digits
pasted on a canvas, with their boxes, class labels and per-pixel instance masks.

A scene is drawn from a seed alone (``numpy``'s PCG64), so scene ``i`` of seed ``s`` is the same
on every machine and in every process: a loader's workers, a re-run, the grader. Training scenes
paste digits of MNIST's training split; the held-out scenes (``HELD_OUT_SEED``, digits of
MNIST's test split) are what the chapters' mAP and mean IoU are reported on.

Each digit is resized to a random size, placed at a random position (overlapping the digits
already there by at most ``max_overlap`` IoU where ten tries find such a place), and pasted
over what is there (the brighter pixel wins). A digit's mask is the set of pixels where it is the visible
ink (above ``INK`` and on top): a digit half covered by a later one keeps only its visible
half, and its box is the box of that visible mask, as an annotator would draw it. Digits whose
visible ink falls under ``MIN_VISIBLE`` of their own are dropped from the targets (they are
mostly hidden). ``clutter`` adds fragments of other digits that are not objects, so a detector
must learn shapes rather than "anything bright".
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .vision import load_mnist

__all__ = ["Scenes", "scenes", "collate_scenes", "collate_semantic", "semantic_target", "HELD_OUT_SEED",
           "SCENE_CLASSES"]

HELD_OUT_SEED = 20_240_615     # the evaluation scenes' seed; training uses any other
SCENE_CLASSES = tuple(str(d) for d in range(10))
INK = 0.5                      # a pixel belongs to a digit above this intensity (in [0, 1])
MIN_VISIBLE = 0.3              # a digit less visible than this (of its own ink) is not an object


class Scenes(torch.utils.data.Dataset):
    """``n`` scenes of ``canvas`` x ``canvas`` pixels; item ``i`` is ``(image, target)``:

    - ``image``: (1, canvas, canvas) float32 in [0, 1];
    - ``target``: ``{"boxes": (k, 4) float32 x1, y1, x2, y2 in pixels (x2, y2 exclusive),
      "labels": (k,) int64 digit classes, "masks": (k, canvas, canvas) bool}``, k >= 0.
    """

    def __init__(self, n: int, *, seed: int = 0, canvas: int = 64, digits: tuple[int, int] = (1, 4),
                 size: tuple[int, int] = (16, 32), clutter: int = 0, max_overlap: float = 0.3,
                 split: str | None = None):
        if n < 0 or canvas < 8 or not (1 <= digits[0] <= digits[1]) or not (4 <= size[0] <= size[1] <= canvas):
            raise ValueError(f"Scenes needs n >= 0, canvas >= 8, 1 <= digits[0] <= digits[1] and "
                             f"4 <= size[0] <= size[1] <= canvas; got n={n}, canvas={canvas}, digits={digits}, "
                             f"size={size}")
        split = split or ("test" if seed == HELD_OUT_SEED else "train")
        images, labels = load_mnist(split)
        self.digits, self.labels = images, labels
        self.n, self.seed, self.canvas, self.count, self.size, self.clutter = n, seed, canvas, digits, size, clutter
        self.max_overlap = max_overlap

    def __len__(self) -> int:
        return self.n

    def _place(self, rng, side: int, placed: list) -> tuple[int, int]:
        """A position whose square overlaps every placed one by IoU <= max_overlap (the last of 10
        tries when none does: crowded scenes stay possible)."""
        for _ in range(10):
            y, x = (int(v) for v in rng.integers(0, self.canvas - side + 1, size=2))
            if all(_square_iou((y, x, side), other) <= self.max_overlap for other in placed):
                break
        placed.append((y, x, side))
        return y, x

    def _paste(self, rng, canvas, owner, index, k, placed):
        """Resize digit ``index`` and paste it; ``owner`` records which instance is on top."""
        side = int(rng.integers(self.size[0], self.size[1] + 1))
        digit = torch.from_numpy(self.digits[index].copy()).float().div(255)[None, None]
        digit = F.interpolate(digit, size=(side, side), mode="bilinear", align_corners=False)[0, 0].clamp(0, 1)
        y, x = self._place(rng, side, placed)
        region = canvas[y:y + side, x:x + side]
        on_top = (digit > region) & (digit > INK)
        canvas[y:y + side, x:x + side] = torch.maximum(region, digit)
        if k is not None:
            owner[y:y + side, x:x + side][on_top] = k
        return int((digit > INK).sum())

    def __getitem__(self, i: int):
        if not 0 <= i < self.n:
            raise IndexError(f"scene {i} of {self.n}")
        rng = np.random.default_rng([self.seed, i])      # scene i depends on (seed, i) only
        canvas = torch.zeros(self.canvas, self.canvas)
        owner = torch.full((self.canvas, self.canvas), -1, dtype=torch.long)
        for _ in range(self.clutter):                     # fragments first: objects paste over them
            self._paste_fragment(rng, canvas)
        k = int(rng.integers(self.count[0], self.count[1] + 1))
        chosen = rng.integers(0, len(self.labels), size=k)
        placed = []
        ink = [self._paste(rng, canvas, owner, int(j), n, placed) for n, j in enumerate(chosen)]
        boxes, labels, masks = [], [], []
        for n, j in enumerate(chosen):
            mask = owner == n
            if mask.sum() < MIN_VISIBLE * ink[n]:
                continue
            ys, xs = mask.nonzero(as_tuple=True)
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            labels.append(int(self.labels[j]))
            masks.append(mask)
        target = {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                  "labels": torch.tensor(labels, dtype=torch.int64),
                  "masks": torch.stack(masks) if masks else torch.zeros(0, self.canvas, self.canvas, dtype=torch.bool)}
        return canvas[None], target

    def _paste_fragment(self, rng, canvas):
        """A quarter of a random digit, at a random size and place: ink that is not an object."""
        digit = self.digits[int(rng.integers(0, len(self.labels)))]
        qy, qx = (int(v) for v in rng.integers(0, 2, size=2))
        piece = torch.from_numpy(digit[qy * 14:(qy + 1) * 14, qx * 14:(qx + 1) * 14].copy()).float().div(255)
        side = int(rng.integers(max(4, self.size[0] // 2), max(5, self.size[1] // 2) + 1))
        piece = F.interpolate(piece[None, None], size=(side, side), mode="bilinear", align_corners=False)[0, 0]
        y, x = (int(v) for v in rng.integers(0, self.canvas - side + 1, size=2))
        canvas[y:y + side, x:x + side] = torch.maximum(canvas[y:y + side, x:x + side], piece.clamp(0, 1))


def _square_iou(a, b) -> float:
    (ya, xa, sa), (yb, xb, sb) = a, b
    iy = max(0, min(ya + sa, yb + sb) - max(ya, yb))
    ix = max(0, min(xa + sa, xb + sb) - max(xa, xb))
    inter = iy * ix
    return inter / (sa * sa + sb * sb - inter)


def scenes(n: int, *, seed: int = 0, **options) -> Scenes:
    """``Scenes(n, seed=seed, ...)``: training scenes by default, ``seed=HELD_OUT_SEED`` for evaluation."""
    return Scenes(n, seed=seed, **options)


def collate_scenes(batch):
    """A detection batch: images stacked to (N, 1, H, W), targets kept as a list (k differs per scene)."""
    images, targets = zip(*batch)
    return torch.stack(images), list(targets)


def semantic_target(target: dict, size) -> torch.Tensor:
    """A scene's instance masks as one (H, W) class map: 0 background, digit d as d + 1."""
    out = torch.zeros(size, dtype=torch.long)
    for mask, label in zip(target["masks"], target["labels"]):
        out[mask] = int(label) + 1
    return out


def collate_semantic(batch):
    """A segmentation batch: images (N, 1, H, W) and class maps (N, H, W) int64, 0 the background
    and digit d as d + 1 (11 classes); clutter is background: ink that is not an object."""
    images, targets = zip(*batch)
    images = torch.stack(images)
    return images, torch.stack([semantic_target(t, images.shape[-2:]) for t in targets])
