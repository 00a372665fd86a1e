"""A walk between two codes of a generative model, decoded (chapters 24-26).

``interpolate(decode, z_a, z_b, steps)`` decodes the straight line between two codes; ``latent_explorer``
puts a slider on it, beside the two ends. A VAE's decoder passes through digit-like images all the
way, because its training filled the space between codes; a plain autoencoder's often does not.
"""
from __future__ import annotations

import io
from typing import Callable

import numpy as np
import torch

__all__ = ["interpolate", "latent_explorer"]


@torch.no_grad()
def interpolate(decode: Callable[[torch.Tensor], torch.Tensor], z_a: torch.Tensor, z_b: torch.Tensor,
                steps: int = 9) -> torch.Tensor:
    """decode((1 - t) z_a + t z_b) for ``steps`` values of t from 0 to 1: (steps, 28, 28) images in [0, 1].

    ``decode`` maps (N, latent) codes to (N, 784) images in [0, 1] (e.g. ``lambda z: vae.decode(z).sigmoid()``).
    """
    z_a, z_b = torch.as_tensor(z_a).reshape(1, -1), torch.as_tensor(z_b).reshape(1, -1)
    if z_a.shape != z_b.shape:
        raise ValueError(f"the two codes differ in size: {tuple(z_a.shape)} and {tuple(z_b.shape)}; encode both "
                         "images with the same model.")
    t = torch.linspace(0, 1, steps, dtype=z_a.dtype).view(-1, 1)
    return decode((1 - t) * z_a + t * z_b).reshape(steps, 28, 28).cpu()


def latent_explorer(decode: Callable[[torch.Tensor], torch.Tensor], z_a: torch.Tensor, z_b: torch.Tensor,
                    steps: int = 21):
    """A slider from 0 (the first code) to 1 (the second) and the decoded image between them.

    The returned VBox exposes ``.slider``, ``.frames`` (the (steps, 28, 28) decoded line), ``.shown``
    (the frame on screen) and ``.image`` (its PNG); moving the slider redraws.
    """
    import ipywidgets as widgets
    from matplotlib.figure import Figure

    frames = interpolate(decode, z_a, z_b, steps)
    slider = widgets.IntSlider(value=steps // 2, min=0, max=steps - 1, description="t x 20" if steps == 21 else "step")
    image_widget = widgets.Image(format="png", layout=widgets.Layout(width="540px"))
    fig = Figure(figsize=(6.75, 2.4), dpi=80)        # not registered with pyplot: no stray copy
    axes = fig.subplots(1, 3)
    box = widgets.VBox([slider, image_widget])
    box.slider, box.frames, box.image = slider, frames, image_widget

    def redraw(_change=None) -> np.ndarray:
        k = slider.value
        box.shown = frames[k].numpy()
        for ax, frame, title in zip(axes, (frames[0], frames[k], frames[-1]),
                                    ("t = 0", f"t = {k / (steps - 1):.2f}", "t = 1")):
            ax.clear(), ax.axis("off")
            ax.imshow(frame.numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=9)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        image_widget.value = buffer.getvalue()
        return box.shown

    slider.observe(redraw, names="value")
    box.redraw = redraw
    redraw()
    return box
