"""Checks of chapter 14's exercises: patches back into images, a ViT's parameter count, attention rollout.

As in chapters 19 and 20, each check first recognises the usual wrong answers, so its hint names the
mistake; the right answer must equal the course's reference (``dlcourse.models.vit``), which
tests/test_vit.py proves equal to torchvision's ViT.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError, check_like_torch, matches
from dlcourse.exercises import not_attempted
from dlcourse.models.vit import ViT, ViTConfig, attention_rollout, patchify
from dlcourse.profiling import count_params

__all__ = ["check_unpatchify", "check_vit_params", "check_rollout"]


def _diagnose(got, candidates: dict[str, torch.Tensor]) -> str | None:
    """The first named wrong answer that ``got`` equals."""
    return next((hint for hint, value in candidates.items() if torch.is_tensor(got) and got.shape == value.shape
                 and got.dtype == value.dtype and matches(got, value)), None)


def _unpatchify(patches: torch.Tensor, p: int, height: int, width: int) -> torch.Tensor:
    """The inverse of ``patchify``: F.fold puts each patch back where F.unfold took it from."""
    return F.fold(patches.transpose(1, 2), (height, width), kernel_size=p, stride=p)


def _wrong_unpatchify(patches: torch.Tensor, p: int, height: int, width: int, mistake: str) -> torch.Tensor:
    n, _, cpp = patches.shape
    c, rows, cols = cpp // (p * p), height // p, width // p
    if mistake == "channel-last":       # each patch read as (row, column, channel)
        return patches.reshape(n, rows, cols, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(n, c, height, width)
    if mistake == "column-major":       # patches placed down the columns first
        return patches.reshape(n, cols, rows, c, p, p).permute(0, 3, 2, 4, 1, 5).reshape(n, c, height, width)
    return patches.reshape(n, c, height, width)                     # "reshape": no permute at all


def check_unpatchify(unpatchify_fn: Callable) -> None:
    """Exercise 1: unpatchify(patches, p, height, width): (N, HW/p^2, C p^2) -> (N, C, H, W), the inverse of
    patchify (raster order, each patch flattened channel, row, column), so unpatchify(patchify(x)) == x."""
    __tracebackhide__ = True
    x = torch.randn(2, 3, 8, 12, generator=torch.Generator().manual_seed(14))   # not square: rows vs columns show
    patches = patchify(x, 4)
    got = unpatchify_fn(patches, 4, 8, 12)
    if not_attempted(got, 1, "make unpatchify(patches, p, height, width) return the (N, C, H, W) images."):
        return
    hint = _diagnose(got, {
        "Each patch is read with the channel last (row, column, channel): patchify flattens the channel first, "
        "then rows, then columns, as conv_proj.weight.flatten(1) does; view each patch as (C, p, p).":
            _wrong_unpatchify(patches, 4, 8, 12, "channel-last"),
        "The patches are put down the columns first: patchify's order runs along a row of patches (left to "
        "right), then to the next row; view the patch index as (H/p, W/p), rows first.":
            _wrong_unpatchify(patches, 4, 8, 12, "column-major"),
        "A reshape alone puts numbers back in memory order, mixing patches and channels: view the patches as "
        "(N, H/p, W/p, C, p, p), permute to (N, C, H/p, p, W/p, p), then reshape.":
            _wrong_unpatchify(patches, 4, 8, 12, "reshape"),
    })
    if hint:
        raise CheckError(f"unpatchify(patchify(x of shape {tuple(x.shape)}, 4), 4, 8, 12): {hint}")
    for shape, p in (((2, 3, 8, 12), 4), ((1, 1, 6, 9), 3), ((2, 3, 8, 8), 8)):
        images = torch.randn(*shape, generator=torch.Generator().manual_seed(p))
        h, w = shape[-2:]
        check_like_torch(f"unpatchify(patches of {shape}, {p}, {h}, {w})",
                         lambda t: unpatchify_fn(t, p, h, w), lambda t: _unpatchify(t, p, h, w), patchify(images, p),
                         hint="view (N, H/p, W/p, C, p, p), permute to (N, C, H/p, p, W/p, p), reshape to "
                              "(N, C, H, W); or F.fold(patches.transpose(1, 2), (H, W), p, stride=p).")


def _params(image_size, patch_size, num_layers, hidden_dim, mlp_dim, num_classes) -> int:
    config = ViTConfig(image_size=image_size, patch_size=patch_size, num_layers=num_layers, num_heads=1,
                       hidden_dim=hidden_dim, mlp_dim=mlp_dim, num_classes=num_classes)
    with torch.device("meta"):     # shapes only: ViT-B's 86M weights need no memory to count
        return count_params(ViT(config))


_CASES = [(224, 16, 12, 768, 3072, 1000), (224, 32, 12, 768, 3072, 1000), (32, 4, 6, 96, 192, 10),
          (32, 8, 1, 16, 32, 3)]


def check_vit_params(vit_params: Callable) -> None:
    """Exercise 2: vit_params(image_size, patch_size, num_layers, hidden_dim, mlp_dim, num_classes) == the
    parameters of that ViT (torchvision's layout: no representation layer), counted by formula."""
    __tracebackhide__ = True
    if not_attempted(vit_params(*_CASES[0]), 2, "make vit_params(...) return the number of parameters."):
        return
    for case in _CASES:
        image, p, layers, d, mlp, classes = case
        expected = _params(*case)
        got = vit_params(*case)
        if got == expected:
            print(f"OK vit_params{case} = {got:,}")
            continue
        diff = expected - got if isinstance(got, int) else None
        why = {d: "one position embedding too few: the class token has its own position, so the table has "
                  "HW/p^2 + 1 rows.",
               2 * d: "the class token (d weights) is missing, and so is its row of the position table (another d).",
               4 * d * layers + 2 * d: "the LayerNorms are missing: two per block and one after the last block, "
                                       "each with a gain and a shift of d.",
               2 * d * layers + 2 * d: "half the LayerNorm parameters are missing: each has a gain AND a shift.",
               d * layers * 4: "the attention's biases are missing: in_proj has 3d, out_proj d per block."}
        raise CheckError(f"vit_params{case} = {got}, expected {expected:,}. "
                         + why.get(diff, "Count: patch embedding C p^2 d + d; class token d; positions "
                                         "(HW/p^2 + 1) d; per block 2 LayerNorms (2d each), attention 4 d^2 + 4d, "
                                         "MLP 2 d mlp + mlp + d; the final LayerNorm 2d; head d k + k."))


def _rollout_variants(attentions):
    eye = torch.eye(attentions[0].size(-1))
    mixed = [0.5 * a.mean(1) + 0.5 * eye for a in attentions]
    reversed_order = mixed[0]
    for a in mixed[1:]:
        reversed_order = reversed_order @ a
    no_identity = attentions[0].mean(1)
    for a in attentions[1:]:
        no_identity = a.mean(1) @ no_identity
    first_head = 0.5 * attentions[0][:, 0] + 0.5 * eye
    for a in attentions[1:]:
        first_head = (0.5 * a[:, 0] + 0.5 * eye) @ first_head
    return reversed_order, no_identity, first_head


def check_rollout(rollout_fn: Callable) -> None:
    """Exercise 3: rollout(attentions) with attentions a list of (N, heads, L, L) maps, first layer first ->
    (N, L, L): heads averaged, each layer 0.5 A + 0.5 I, multiplied with the later layer on the left."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(140)
    attentions = [torch.softmax(2 * torch.randn(2, 3, 5, 5, generator=g), dim=-1) for _ in range(3)]
    got = rollout_fn(attentions)
    if not_attempted(got, 3, "make rollout(attentions) return the (N, L, L) rollout."):
        return
    if torch.is_tensor(got) and got.dim() == 4:
        raise CheckError(f"rollout: got shape {tuple(got.shape)}, expected (N, L, L) = (2, 5, 5): average the "
                         "heads (dimension 1) of each layer's attention first.")
    reversed_order, no_identity, first_head = _rollout_variants(attentions)
    hint = _diagnose(got, {
        "The layers are multiplied in the wrong order: the later layer goes on the LEFT, R = A~_3 A~_2 A~_1, "
        "because A~_2 mixes what A~_1 has already mixed (rollout = a @ rollout).": reversed_order,
        "The identity for the residual connection is missing: each layer's output is x + attention(x), so use "
        "0.5 * A + 0.5 * I (Abnar & Zuidema, eq. 1), not A alone.": no_identity,
        "Only the first head is used: average the heads, a.mean(dim=1).": first_head,
    })
    if hint:
        raise CheckError(f"rollout(3 layers of (2, 3, 5, 5) attention): {hint}")
    check_like_torch("rollout(3 layers of 3 heads)", lambda *maps: rollout_fn(list(maps)),
                     lambda *maps: attention_rollout(list(maps)), *attentions,
                     hint="For each layer: A = a.mean(1); A~ = 0.5 A + 0.5 I; rows divided by their sums; "
                          "rollout = A~ @ rollout.")
