"""Inverted dropout == F.dropout, mixup == torchvision's MixUp and CutMix == its CutMix, given the
same random draws: images, soft labels and gradients."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

from dlcourse import regularization as R
from dlcourse.checks import check_close, check_like_torch


def _seeded(seed, fn):
    """fn, run right after seeding torch's global generator: both sides draw the same numbers."""
    def run(*args):
        torch.manual_seed(seed)
        return fn(*args)
    return run


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("seed", [0, 1])
def test_dropout_matches_torch_given_the_same_seed(p, seed):
    x = torch.randn(64, 33, generator=torch.Generator().manual_seed(seed))
    check_like_torch(f"dropout(p={p})", _seeded(seed, lambda x: R.dropout(x, p)),
                     _seeded(seed, lambda x: F.dropout(x, p)), x, atol=0, rtol=1e-6, verbose=False)


def test_dropout_edges_and_the_module_follow_torch_in_train_and_eval():
    x = torch.randn(8, 5)
    assert torch.equal(R.dropout(x, 0.0), x) and torch.equal(R.dropout(x, 0.7, training=False), x)
    assert torch.equal(R.dropout(x, 1.0), F.dropout(x, 1.0))
    ours, theirs = R.Dropout(0.3), nn.Dropout(0.3)
    check_like_torch("Dropout(0.3), train", _seeded(5, ours), _seeded(5, theirs), x, verbose=False)
    ours.eval(), theirs.eval()
    check_like_torch("Dropout(0.3), eval", ours, theirs, x, verbose=False)
    with pytest.raises(ValueError, match="between 0 and 1"):
        R.Dropout(1.5)
    # F.dropout's positional order, inplace included: refused in words rather than by Python
    check_like_torch("dropout(x, 0.4, True, False)", _seeded(6, lambda x: R.dropout(x, 0.4, True, False)),
                     _seeded(6, lambda x: F.dropout(x, 0.4, True, False)), x, verbose=False)
    with pytest.raises(ValueError, match="inplace=True is left out"):
        R.dropout(x, 0.4, True, True)


def test_inverted_dropout_keeps_the_expected_activation():
    # mean over 10^6 ones: 1 +- about 0.002 when survivors are divided by 1 - p; 0.6 if not
    torch.manual_seed(0)
    kept = R.dropout(torch.ones(1_000_000), 0.4)
    assert abs(float(kept.mean()) - 1.0) < 0.01
    assert abs(float((kept == 0).float().mean()) - 0.4) < 0.01


def _batch(seed, n=8, num_classes=5, size=(3, 12, 10), one_hot=False):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand((n, *size), generator=g)
    labels = torch.randperm(n, generator=g) % num_classes      # neighbours mostly differ: pairing shows
    return images, (F.one_hot(labels, num_classes).float() if one_hot else labels)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mixup_matches_torchvision_given_the_same_seed(seed, alpha):
    images, labels = _batch(seed)
    check_like_torch(f"mixup(alpha={alpha})", _seeded(seed, lambda x: R.mixup(x, labels, 5, alpha=alpha)),
                     _seeded(seed, lambda x: v2.MixUp(alpha=alpha, num_classes=5)(x, labels)), images,
                     atol=0, rtol=0, verbose=False)


@pytest.mark.parametrize("alpha", [0.5, 1.0])
@pytest.mark.parametrize("seed", range(6))                  # boxes inside the image and clipped at its border
def test_cutmix_matches_torchvision_given_the_same_seed(seed, alpha):
    images, labels = _batch(seed)
    check_like_torch(f"cutmix(alpha={alpha})", _seeded(seed, lambda x: R.cutmix(x, labels, 5, alpha=alpha)),
                     _seeded(seed, lambda x: v2.CutMix(alpha=alpha, num_classes=5)(x, labels)), images,
                     atol=0, rtol=0, verbose=False)


def test_probability_labels_are_mixed_as_they_are():
    images, soft = _batch(3, one_hot=True)
    soft = 0.9 * soft + 0.02                                 # already smoothed: no one-hot again
    ours = _seeded(3, lambda: R.mixup(images, soft))()
    theirs = _seeded(3, lambda: v2.MixUp(alpha=1.0)(images, soft))()
    check_close("mixup labels (probabilities)", ours[1], theirs[1], atol=0, rtol=0, verbose=False)


def test_explicit_lambda_and_box_give_the_documented_mixture():
    images, labels = _batch(4, n=4, num_classes=4, size=(1, 4, 4))
    labels = torch.tensor([0, 1, 2, 3])
    mixed, soft = R.mixup(images, labels, 4, lam=0.7)
    check_close("mixup image 1", mixed[1], 0.7 * images[1] + 0.3 * images[0], verbose=False)
    check_close("mixup labels", soft[1], torch.tensor([0.3, 0.7, 0.0, 0.0]), verbose=False)
    cut, soft = R.cutmix(images, labels, 4, box=(0, 0, 2, 4))  # the left half of each image, from its predecessor
    assert torch.equal(cut[2, :, :, :2], images[1, :, :, :2]) and torch.equal(cut[2, :, :, 2:], images[2, :, :, 2:])
    check_close("cutmix labels", soft[2], torch.tensor([0.0, 0.5, 0.5, 0.0]), verbose=False)
    x1, y1, x2, y2 = R.sample_cutmix_box(1.0, 8, 8)            # lam = 1: an empty box
    assert x1 == x2 and y1 == y2


def test_mixing_refuses_mismatched_batches_and_unencodable_labels():
    images, labels = _batch(0)
    with pytest.raises(ValueError, match="num_classes"):
        R.mixup(images, labels)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) and N labels"):
        R.cutmix(images[:3], labels, 5)
    with pytest.raises(ValueError, match="alpha must be positive"):
        R.mixup(images, labels, 5, alpha=0)
