"""Worked solutions to the exercises of chapter 14 · The Vision Transformer.

Run it from the repository root: ``python solutions/chapters/14_vit.py``. Each solution is
checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch14_vit``); a wrong
answer raises ``dlcourse.CheckError``.
"""
import torch

import dlcourse
from dlcourse.exercises.chapters import ch14_vit as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: from patches back to the image
#
# patchify did view (N, C, H/p, p, W/p, p) -> permute (N, H/p, W/p, C, p, p) -> reshape (N, L, C p^2).
# Undo it in reverse: reshape each token back to (H/p, W/p, C, p, p), put the axes back in image order
# (N, C, H/p, p, W/p, p), and merge each (patch index, pixel in patch) pair into one image axis.
def unpatchify(patches, p, height, width):
    """(N, HW/p^2, C p^2) -> (N, C, H, W)."""
    n, _, cpp = patches.shape
    c = cpp // (p * p)
    grid = patches.reshape(n, height // p, width // p, c, p, p)
    return grid.permute(0, 3, 1, 4, 2, 5).reshape(n, c, height, width)


exercises.check_unpatchify(unpatchify)


# %% Exercise 2: a ViT's parameters, by formula
#
# Patch embedding: a (D, 3 p^2) matrix and a bias. Class token: D. Positions: one row of D for each
# patch AND for the class token. Each block: two LayerNorms (gain and shift: 2D each), attention
# (in_proj 3D x D + 3D, out_proj D x D + D), the MLP (D x mlp + mlp, mlp x D + D). The final
# LayerNorm 2D, the head D x classes + classes.
def vit_params(image_size, patch_size, num_layers, hidden_dim, mlp_dim, num_classes):
    """The number of parameters of that ViT."""
    d, tokens = hidden_dim, (image_size // patch_size) ** 2 + 1
    embedding = 3 * patch_size ** 2 * d + d
    block = 2 * (2 * d) + (4 * d * d + 4 * d) + (2 * d * mlp_dim + mlp_dim + d)
    return embedding + d + tokens * d + num_layers * block + 2 * d + d * num_classes + num_classes


exercises.check_vit_params(vit_params)


# %% Exercise 3: attention rollout
#
# The residual connection keeps half of each token as it was: 0.5 A + 0.5 I. A later layer mixes
# what the earlier layers have already mixed, so it multiplies from the left.
def rollout(attentions):
    """List of (N, heads, L, L) -> (N, L, L)."""
    result = None
    for a in attentions:
        a = a.mean(dim=1)                                        # fuse the heads
        a = 0.5 * a + 0.5 * torch.eye(a.size(-1))
        a = a / a.sum(dim=-1, keepdim=True)
        result = a if result is None else a @ result
    return result


exercises.check_rollout(rollout)
