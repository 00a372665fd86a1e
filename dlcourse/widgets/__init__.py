"""Interactive explorers for the notebooks, built on ipywidgets and matplotlib (one module per chapter's
widget; everything is importable from ``dlcourse.widgets``).

Each widget keeps its drawing in a pure function (an ``Axes`` in, numbers out), so the
picture can be tested without a browser and reused in static figures; the widget only
wires sliders to that function.

- ``draw_linear_boundary(ax, X, y, w, b)``: points, the line w·x + b = 0, the side it calls
  positive, and the misclassified points; returns how many there are.
- ``perceptron_explorer(X, y, w, b)``: sliders for w1, w2 and b that move that line
  (chapter 02).
- ``draw_descent(ax, paths)``: optimizer paths over the contours of the Rosenbrock valley;
  returns each path's final loss.
- ``descent_explorer(optimizers)``: an optimizer menu and a learning-rate slider that redraw
  its path down the valley (chapter 06).
- ``apply_filter(image, kernel)``, ``draw_filtered(axes, image, kernel)``: a 3x3 kernel applied
  to a grey image with dlcourse.conv.conv2d, drawn as input | kernel | output.
- ``filter_explorer(image)``: a menu of classic filters (blur, sharpen, Sobel...) and an editable
  3x3 kernel, applied to the image (chapter 09).
- ``draw_attention(ax, weights, tokens)``: a (queries, keys) heatmap with the tokens on its axes;
  returns each query's strongest key.
- ``attention_explorer(tokens, weights)``: layer and head menus and a query slider over a
  sentence's attention maps (chapter 19).
- ``interpolate(decode, z_a, z_b)``, ``latent_explorer(decode, z_a, z_b)``: the straight line between
  two codes of a generative model, decoded, with a slider along it (chapter 24).
"""
from .attention import attention_explorer, draw_attention
from .boundary import draw_linear_boundary, linear_mistakes, perceptron_explorer
from .descent import VALLEY, descent_explorer, draw_descent
from .filters import FILTERS, apply_filter, draw_filtered, filter_explorer
from .latent import interpolate, latent_explorer

__all__ = ["draw_linear_boundary", "linear_mistakes", "perceptron_explorer", "draw_descent", "descent_explorer",
           "FILTERS", "apply_filter", "draw_filtered", "filter_explorer", "draw_attention", "attention_explorer",
           "interpolate", "latent_explorer"]
