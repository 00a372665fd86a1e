"""Chapter 09's filter explorer works without a browser: a menu choice or an edited number redraws the
filtered image, which is the kernel applied by F.conv2d."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dlcourse.widgets import FILTERS, apply_filter, filter_explorer  # noqa: E402

# A vertical edge: dark on the left half, bright on the right.
EDGE = np.zeros((8, 8), dtype=np.float32)
EDGE[:, 4:] = 1.0


def _torch_filtered(image, kernel):
    k = torch.tensor(kernel, dtype=torch.float32)[None, None]
    return F.conv2d(torch.from_numpy(image)[None, None], k, padding=1)[0, 0].numpy()


@pytest.mark.parametrize("name", FILTERS)
def test_apply_filter_is_conv2d_with_zero_padding_one(name):
    image = np.random.default_rng(0).random((9, 7)).astype(np.float32)
    np.testing.assert_allclose(apply_filter(image, FILTERS[name]), _torch_filtered(image, FILTERS[name]),
                               atol=1e-6)


def test_sobel_x_lights_up_the_vertical_edge_and_sobel_y_does_not():
    box = filter_explorer(EDGE)                        # starts on Sobel x
    inside = box.result[1:-1]                          # away from the zero-padded top and bottom rows
    assert inside[:, 3:5].min() == pytest.approx(4.0) and np.abs(inside[:, :2]).max() == 0
    first = bytes(box.image.value)
    assert first.startswith(b"\x89PNG")
    box.menu.value = "Sobel y (horizontal edges)"      # the grid follows the menu
    assert box.kernel.tolist() == FILTERS["Sobel y (horizontal edges)"]
    assert np.abs(box.result[1:-1]).max() == 0 and bytes(box.image.value) != first


def test_editing_a_number_redraws_with_the_hand_edited_kernel():
    box = filter_explorer(EDGE, "identity")
    np.testing.assert_array_equal(box.result, EDGE)
    box.cells[1][1].value = 2.0                        # identity scaled by 2
    assert box.menu.value == "(hand-edited)"
    np.testing.assert_array_equal(box.result, 2 * EDGE)
    box.cells[1][1].value = 1.0                        # back to a named filter: the menu says so
    assert box.menu.value == "identity"


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="one grey image"):
        apply_filter(np.zeros((2, 3, 8, 8)), FILTERS["identity"])
    with pytest.raises(ValueError, match="3x3 kernel"):
        apply_filter(EDGE, np.ones((5, 5)))
    with pytest.raises(ValueError, match="choose one of"):
        filter_explorer(EDGE, "blurry")
