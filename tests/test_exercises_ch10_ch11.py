"""Chapters 10 and 11's exercise checks: the notebook's stub is reported as not attempted, the right
answer passes, and each typical wrong answer fails with a hint (tests/conftest.py: exercise_check)."""
import torch
import torch.nn.functional as F

from dlcourse.exercises.chapters import ch10_lenet5 as ch10
from dlcourse.exercises.chapters import ch11_alexnet_vgg as ch11


# ----------------------------------------------------------------------------- chapter 10
def test_feature_map_size(exercise_check):
    exercise_check(ch10.check_feature_map_size, lambda s, k, st, p: (s + 2 * p - k) // st + 1, [
        lambda s, k, st, p: (s + p - k) // st + 1,              # padding on one side only
        lambda s, k, st, p: (s + 2 * p - k) / st + 1,           # no floor
        lambda s, k, st, p: (s + 2 * p - k + st - 1) // st + 1,  # ceil, as a pool with ceil_mode would
        lambda s, k, st, p: s - k + 1,                          # stride and padding ignored
    ])


def test_subsampling(exercise_check):
    def right(x, w, b):
        return F.avg_pool2d(x, 2) * 4 * w.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)
    exercise_check(ch10.check_subsampling, right, [
        lambda x, w, b: F.avg_pool2d(x, 2) * w.view(1, -1, 1, 1) + b.view(1, -1, 1, 1),      # the mean, not the sum
        lambda x, w, b: F.max_pool2d(x, 2) * 4 * w.view(1, -1, 1, 1) + b.view(1, -1, 1, 1),  # max-pool
        lambda x, w, b: torch.sigmoid(right(x, w, b)),                                      # squashed inside
    ])


def test_confusion_matrix(exercise_check):
    def right(p, y, n):
        return torch.bincount(y * n + p, minlength=n * n).view(n, n)
    exercise_check(ch10.check_confusion_matrix, right, [
        lambda p, y, n: right(p, y, n).T,                        # rows are the predictions
        lambda p, y, n: right(p, y, n).float() / len(y),         # normalised
        lambda p, y, n: torch.diag(torch.bincount(y[p == y], minlength=n)),  # only the correct predictions
    ])


# ----------------------------------------------------------------------------- chapter 11
def count_right(cfg, in_channels=3, batch_norm=False):
    total, c = 0, in_channels
    for v in cfg:
        if v != "M":
            total += 9 * c * v + v + (2 * v if batch_norm else 0)
            c = v
    return total


def test_count_vgg_parameters(exercise_check):
    def no_bias(cfg, in_channels=3, batch_norm=False):
        return count_right(cfg, in_channels, batch_norm) - sum(v for v in cfg if v != "M")

    def bn_buffers_counted(cfg, in_channels=3, batch_norm=False):
        return count_right(cfg, in_channels, batch_norm) + (2 * sum(v for v in cfg if v != "M") if batch_norm else 0)

    def in_channels_fixed(cfg, in_channels=3, batch_norm=False):
        return sum(9 * in_channels * v + v + (2 * v if batch_norm else 0) for v in cfg if v != "M")
    exercise_check(ch11.check_count_vgg_parameters, count_right, [no_bias, bn_buffers_counted, in_channels_fixed])


def test_grouped_conv(exercise_check):
    def right(x, w, b, groups):
        xs, ws, bs = x.chunk(groups, 1), w.chunk(groups, 0), b.chunk(groups, 0)
        return torch.cat([F.conv2d(xi, wi, bi, padding=1) for xi, wi, bi in zip(xs, ws, bs)], 1)

    def weight_split_by_input(x, w, b, groups):              # chunks the weight's second axis: shapes break
        xs, ws = x.chunk(groups, 1), w.chunk(groups, 1)
        return torch.cat([F.conv2d(xs[i], ws[i].repeat(1, groups, 1, 1), None, padding=1) for i in range(groups)], 1)

    def groups_swapped(x, w, b, groups):                     # group i's channels meet group i+1's filters
        xs, ws, bs = x.chunk(groups, 1), w.chunk(groups, 0), b.chunk(groups, 0)
        return torch.cat([F.conv2d(xs[(i + 1) % groups], ws[i], bs[i], padding=1) for i in range(groups)], 1)
    exercise_check(ch11.check_grouped_conv, right, [weight_split_by_input, groups_swapped])


def receptive_field_right(cfg):
    r, j = 1, 1
    for v in cfg:
        if v == "M":
            r, j = r + j, j * 2
        else:
            r += 2 * j
    return r


def test_receptive_field(exercise_check):
    exercise_check(ch11.check_receptive_field, receptive_field_right, [
        lambda cfg: 1 + 2 * sum(v != "M" for v in cfg),                   # pools ignored
        lambda cfg: 1 + sum(3 if v != "M" else 2 for v in cfg),           # kernel sizes added
        lambda cfg: 3 * 2 ** sum(v == "M" for v in cfg),                  # only the pools' doubling
    ])
