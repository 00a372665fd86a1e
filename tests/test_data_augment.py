"""AugmentedImages: a transform per example on uint8 pixels, then cifar10()'s normalisation."""
import pytest
import torch
from torchvision.transforms import v2

from dlcourse import data
from dlcourse.checks import check_close


def test_without_a_transform_it_holds_exactly_cifar10s_tensors():
    plain, augmented = data.cifar10("test", limit=32, seed=3), data.cifar10_augmented("test", limit=32, seed=3)
    assert len(augmented) == 32 and augmented.classes == data.CIFAR10_CLASSES
    for i in (0, 17, 31):
        check_close(f"image {i}", augmented[i][0], plain[i][0], atol=0, rtol=0, verbose=False)
        assert int(augmented[i][1]) == int(plain[i][1])


def test_the_transform_runs_on_each_uint8_image_before_normalising():
    images = torch.randint(0, 256, (3, 3, 4, 5), dtype=torch.uint8)
    flipped = data.AugmentedImages(images, torch.arange(3), v2.RandomHorizontalFlip(p=1.0), (0.5, 0.5, 0.5),
                                   (0.25, 0.25, 0.25))
    check_close("flipped, normalised", flipped[1][0], (images[1].flip(-1).float() / 255 - 0.5) / 0.25,
                atol=0, rtol=0, verbose=False)
    to_float = data.AugmentedImages(images, torch.arange(3), v2.ToDtype(torch.float32, scale=True), (0,) * 3,
                                    (1,) * 3)
    with pytest.raises(ValueError, match="must return uint8"):
        to_float[0]
    with pytest.raises(ValueError, match=r"uint8 images \(N, C, H, W\)"):
        data.AugmentedImages(images.float(), torch.arange(3), None, (0,), (1,))
