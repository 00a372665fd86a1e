"""Attention heatmaps over a sentence and their explorer (chapter 19)."""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np

__all__ = ["draw_attention", "attention_explorer"]


def _as_weights(weights, n_queries: int, n_keys: int) -> np.ndarray:
    w = np.asarray(weights.detach().float().cpu() if hasattr(weights, "detach") else weights, dtype=np.float64)
    if w.ndim != 2 or w.shape != (n_queries, n_keys):
        raise ValueError(f"expected attention weights of shape (queries, keys) = ({n_queries}, {n_keys}), got "
                         f"{w.shape}; pick one example and one head, e.g. weights[0, head].")
    return w


def draw_attention(ax, weights, query_tokens: Sequence[str], key_tokens: Sequence[str] | None = None, *,
                   highlight: int | None = None, title: str | None = None) -> np.ndarray:
    """A heatmap of (queries, keys) attention weights, tokens on both axes; returns each query's top key.

    Row i is what query token i attends to (rows sum to one). ``highlight`` outlines one query's
    row and marks its strongest key.
    """
    from matplotlib.patches import Rectangle

    key_tokens = query_tokens if key_tokens is None else key_tokens
    w = _as_weights(weights, len(query_tokens), len(key_tokens))
    ax.clear()
    ax.imshow(w, cmap="viridis", vmin=0.0, vmax=max(float(w.max()), 1e-9), aspect="auto")
    ax.set_xticks(range(len(key_tokens)), key_tokens, rotation=90, fontsize=8)
    ax.set_yticks(range(len(query_tokens)), query_tokens, fontsize=8)
    ax.set(xlabel="key (attended to)", ylabel="query (attending)")
    top = w.argmax(axis=1)
    if highlight is not None:
        ax.add_patch(Rectangle((-0.5, highlight - 0.5), len(key_tokens), 1, fill=False, edgecolor="red", lw=2))
        ax.plot(top[highlight], highlight, "r*", markersize=10)
    if title:
        ax.set_title(title, fontsize=9)
    return top


def attention_explorer(tokens: Sequence[str], weights: dict, key_tokens: Sequence[str] | None = None):
    """Menus for the layer and the head, a slider for the query token; shows that head's attention.

    weights: {layer name: (heads, queries, keys)} for one example (e.g. what
    ``dlcourse.models.capture_attention`` recorded, indexed at the example). The head menu also
    offers "mean" (the average over heads, what nn.MultiheadAttention returns by default). The
    returned VBox exposes ``.layer``, ``.head``, ``.query``, ``.top_keys`` (the chosen query's
    three strongest keys, strongest first), ``.image`` and ``.redraw()``.
    """
    import ipywidgets as widgets
    from matplotlib.figure import Figure

    key_tokens = list(tokens if key_tokens is None else key_tokens)
    tokens = list(tokens)
    tables = {name: np.asarray(w.detach().float().cpu() if hasattr(w, "detach") else w) for name, w in weights.items()}
    for name, w in tables.items():
        if w.ndim != 3 or w.shape[1:] != (len(tokens), len(key_tokens)):
            raise ValueError(f"attention_explorer: weights[{name!r}] must be (heads, {len(tokens)} queries, "
                             f"{len(key_tokens)} keys) for one example; got {w.shape}.")
    names = list(tables)
    heads = next(iter(tables.values())).shape[0]
    layer = widgets.Dropdown(options=names, value=names[0], description="layer")
    head = widgets.Dropdown(options=["mean", *range(heads)], value=0, description="head")
    query = widgets.IntSlider(value=0, min=0, max=len(tokens) - 1, description="query", continuous_update=False)
    status = widgets.HTML()
    image = widgets.Image(format="png", layout=widgets.Layout(width="520px"))
    size = 2.5 + 0.32 * max(len(tokens), len(key_tokens))
    fig = Figure(figsize=(size, size), dpi=90)  # not registered with pyplot: no stray copy (see perceptron_explorer)
    ax = fig.add_subplot()
    box = widgets.VBox([widgets.HBox([layer, head]), query, status, image])

    def redraw(_change=None) -> list[str]:
        w = tables[layer.value]
        w = w.mean(axis=0) if head.value == "mean" else w[head.value]
        draw_attention(ax, w, tokens, key_tokens, highlight=query.value, title=f"{layer.value}, head {head.value}")
        fig.tight_layout()
        order = np.argsort(-w[query.value], kind="stable")[:3]
        box.top_keys = [key_tokens[j] for j in order]
        status.value = (f"<b>{tokens[query.value]}</b> attends most to: " +
                        ", ".join(f"{key_tokens[j]} ({w[query.value, j]:.2f})" for j in order))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        image.value = buffer.getvalue()
        return box.top_keys

    for control in (layer, head, query):
        control.observe(redraw, names="value")
    box.layer, box.head, box.query, box.image, box.figure, box.redraw = layer, head, query, image, fig, redraw
    redraw()
    return box
