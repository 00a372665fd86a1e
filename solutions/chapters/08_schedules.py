"""Worked solutions to the exercises of chapter 08 · Schedules and stability.

Run it from the repository root: ``python solutions/chapters/08_schedules.py``. Each solution
is checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch08_schedules``);
a wrong answer raises ``dlcourse.CheckError``.
"""
import math

import dlcourse
from dlcourse.exercises.chapters import ch08_schedules as exercises
from dlcourse.lr_finder import smoothed_losses

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: polynomial decay
#
# PolynomialLR multiplies the rate by (1 - t / T) ** p. min(t, T) keeps the factor at 0 after
# the end: without it, t > T makes 1 - t / T negative, so power 2 climbs back up and power
# 0.5 has no real root. The factor is 0 at t = T itself (the T-th scheduler step), not T - 1.
def polynomial_decay(step, total_steps, power=1.0):
    """The factor of the learning rate at `step`: (1 - step / total_steps) ** power, 0 after the end."""
    return (1 - min(step, total_steps) / total_steps) ** power


exercises.check_polynomial_decay(polynomial_decay)


# %% Exercise 2: one-cycle's momentum
#
# The same two phases as one_cycle (chapter section 5): phase 1 ends at the real number
# pct_start * T - 1, phase 2 at T - 1. Momentum anneals along the same cosine, but the other
# way: max -> base while the rate climbs, base -> max while it falls.
def cosine_anneal(start, end, progress):
    return end + (start - end) * (1 + math.cos(math.pi * progress)) / 2


def one_cycle_momentum(step, total_steps, pct_start=0.3, base_momentum=0.85, max_momentum=0.95):
    """SGD's momentum at `step` of a one-cycle schedule of total_steps steps."""
    peak_at, end_at = pct_start * total_steps - 1, total_steps - 1
    if step <= peak_at:
        return cosine_anneal(max_momentum, base_momentum, step / peak_at)
    return cosine_anneal(base_momentum, max_momentum, (step - peak_at) / (end_at - peak_at))


exercises.check_one_cycle_momentum(one_cycle_momentum)


# %% Exercise 3: the finder's smoothed loss
#
# a_i = beta a_{i-1} + (1 - beta) l_i from a_0 = 0 is a weighted sum whose weights
# (1 - beta) beta^(i - j) add up to 1 - beta^i, not 1: dividing by that sum makes it the
# weighted *mean*, so the first value is l_1 itself rather than (1 - beta) l_1.
def smoothed(losses, beta=0.98):
    """Bias-corrected exponential moving average of a list of losses (one value per loss)."""
    average, out = 0.0, []
    for i, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** i))
    return out


exercises.check_smoothed(smoothed)
losses = [2.3, 2.2, 2.25, 2.0, 1.8, 1.9, 1.5, 1.6, 2.5, 4.0]
assert smoothed(losses, 0.9) == smoothed_losses(losses, 0.9)    # the package's finder uses the same average
# beta = 0.99 averages over about 100 steps: it reacts to divergence late, after the loss has exploded;
# beta = 0.9 averages over about 10: one unlucky batch can look like divergence and stop the finder early.
print("all chapter 08 exercise checks passed")
