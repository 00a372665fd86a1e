# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · The perceptron
#
# In 1958 Frank Rosenblatt described a machine that learns to sort patterns into two
# classes by nudging its weights every time it makes a mistake. It is the ancestor of
# every network in this course: one neuron, a weighted sum, a threshold. It also has a
# famous limit. It can only draw a straight line, and some problems (XOR) have no
# straight line to draw.
#
# **What you will build**
#
# - Rosenblatt's learning rule from scratch, one example at a time (the slow, readable
#   loop version);
# - a check that it finds *exactly* the same weights as `dlcourse.models.Perceptron` and
#   scikit-learn's `Perceptron`;
# - a training run on real flowers (Fisher's iris), with the mistakes per epoch, the
#   decision boundary and how the weights move;
# - the convergence theorem, seen in action: a thin margin means many mistakes;
# - XOR, where the mistakes never reach zero;
# - an interactive explorer: move the line with sliders and count the mistakes.
#
# **Prerequisites**: [01 · Tensors and autograd](01_tensors_autograd.ipynb) (vectors, dot
# products); NumPy arrays. No calculus is needed in this chapter.
#
# **Run time**: CPU (2 cores): about 12 s full mode, 10 s fast mode; GPU: not measured yet.
# (Everything here runs on the CPU: the perceptron is a loop over single examples, which a
# GPU cannot speed up.)

# %% [markdown]
# ## Setup
#
# `dlcourse.setup` seeds every random number generator and picks the device (chapter 00
# explains it). The perceptron itself is pure NumPy.

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import Perceptron as SklearnPerceptron
from sklearn.svm import SVC

import dlcourse
from dlcourse.exercises.chapters import ch02_perceptron as exercises
from dlcourse.models import Perceptron
from dlcourse.plot import plot_decision_boundary
from dlcourse.widgets import draw_linear_boundary, perceptron_explorer

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. Every run in this chapter is cheap (the longest, 1,000 epochs over 100
# flowers, takes about a third of a second), so fast mode changes little here.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
EPOCHS = 10                             # the iris run needs 6 epochs to stop making mistakes
THIN_EPOCHS = 1000                      # the thin-margin run needs 721
XOR_EPOCHS = 10 if FAST else 20         # XOR never converges: any number shows it
LR = 1.0                                # the perceptron's step size (see the note in section 3)

# %% [markdown]
# ## 1. The data: two kinds of iris
#
# Fisher's iris data (1936) measures 150 flowers of three species. We keep the first two
# species, *setosa* (label 0) and *versicolor* (label 1), and two measurements: sepal
# length and petal length, in centimetres. That gives 100 points in a plane.

# %%
X_all, y_all = dlcourse.data.load_iris()
FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
keep = y_all < 2                                   # setosa and versicolor
X = X_all[keep][:, [0, 2]].astype(np.float64)      # sepal length, petal length
y = y_all[keep]                                    # 0 = setosa, 1 = versicolor
print(X.shape, y.shape, "labels:", np.bincount(y))
print("first flower:", X[0], "label", y[0])

# %% [markdown]
# Always look at the data first. A straight line can clearly separate the two clouds:
# every versicolor has longer petals than every setosa.

# %%
fig, ax = plt.subplots(figsize=(4.5, 3.6))
for label, name, color in [(0, "setosa", "#3b6fd6"), (1, "versicolor", "#d6453b")]:
    ax.scatter(*X[y == label].T, c=color, edgecolors="k", s=25, label=name)
ax.set(xlabel=FEATURES[0], ylabel=FEATURES[2], title="iris: setosa vs versicolor")
ax.legend()
plt.show()

# %% [markdown]
# ## 2. The model: a line and a threshold
#
# The perceptron scores an input $x \in \mathbb{R}^d$ with a weighted sum and thresholds it:
#
# $$
# \hat t = \operatorname{sign}(w^\top x + b) =
# \begin{cases} +1 & \text{if } w^\top x + b > 0 \\ -1 & \text{otherwise.} \end{cases}
# $$
#
# It is convenient to code the two classes as $t \in \{-1, +1\}$ instead of $\{0, 1\}$:
# then "the prediction is right" reads $t\,(w^\top x + b) > 0$, one inequality for both
# classes.
#
# Geometrically, the points with $w^\top x + b = 0$ form a line (in $d$ dimensions, a
# hyperplane). The vector $w$ is perpendicular to it and points to the $+1$ side; $b$
# shifts it away from the origin; and $|w^\top x + b| / \lVert w \rVert$ is the distance
# from $x$ to the line.

# %%
t = np.where(y == 1, 1.0, -1.0)     # targets in {-1, +1}


def predict(w, b, X):
    """+1 where w·x + b > 0, else -1 (a point exactly on the line counts as -1)."""
    return np.where(X @ w + b > 0, 1.0, -1.0)


# %% [markdown]
# ## 3. Rosenblatt's learning rule, from scratch
#
# Start from $w = 0$, $b = 0$ and visit the examples one at a time. Whenever example $i$
# is misclassified, that is $t_i (w^\top x_i + b) \le 0$, move the line towards it:
#
# $$
# w \leftarrow w + \eta\, t_i\, x_i, \qquad b \leftarrow b + \eta\, t_i .
# $$
#
# Correctly classified examples change nothing. Why does the update help? Compute the
# score of the same example after the update:
#
# $$
# t_i (w_{\text{new}}^\top x_i + b_{\text{new}})
# = t_i (w^\top x_i + b) + \eta\, t_i^2 (\lVert x_i \rVert^2 + 1)
# = t_i (w^\top x_i + b) + \eta (\lVert x_i \rVert^2 + 1).
# $$
#
# The score moves up by a positive amount, towards the correct side. (It may not get
# there in one step, and it may push *other* examples to the wrong side; the convergence
# theorem in section 6 says that on separable data this cannot go on forever.)
#
# A note on the step size $\eta$: starting from zero, every weight vector the rule ever
# produces is $\eta$ times the one it would produce with $\eta = 1$, and scaling $w$ and $b$
# together does not move the line. So $\eta$ does not matter here; we use $\eta = 1$, as
# Rosenblatt and scikit-learn do.
#
# First, one update on its own:

# %%
def perceptron_update(w, b, x_i, t_i, lr=1.0):
    """One step of Rosenblatt's rule on one example. Returns (w, b, was_a_mistake)."""
    if t_i * (w @ x_i + b) <= 0:           # wrong side of the line, or on it
        return w + lr * t_i * x_i, b + lr * t_i, True
    return w, b, False


w0, b0 = np.zeros(2), 0.0
w1, b1, wrong = perceptron_update(w0, b0, X[0], t[0])
print(f"before: w = {w0}, b = {b0}: score of flower 0 = {w0 @ X[0] + b0:+.2f} (target {t[0]:+.0f})")
print(f"after:  w = {w1}, b = {b1}: score of flower 0 = {w1 @ X[0] + b1:+.2f}  mistake? {wrong}")

# %% [markdown]
# With $w = 0$ every score is 0, which counts as a mistake, so the very first example
# always triggers an update. The first flower is a setosa ($t = -1$), so the weights move
# to $-x_0$ and its score becomes $-(\lVert x_0 \rVert^2 + 1) < 0$: correct.
#
# An **epoch** is one pass over all the examples. We count the mistakes in each epoch,
# keep the weights after every update (to draw how they move), and stop after the first
# epoch without a mistake: from then on nothing would change.

# %%
def perceptron_fit(X, t, epochs=10, lr=1.0):
    """Rosenblatt's rule, one example at a time, in the given order.

    Returns (w, b, mistakes per epoch, path): path holds (w, b) after every update.
    """
    w, b = np.zeros(X.shape[1]), 0.0
    mistakes, path = [], [(w, b)]
    for epoch in range(epochs):
        n_wrong = 0
        for x_i, t_i in zip(X, t):
            w, b, wrong = perceptron_update(w, b, x_i, t_i, lr)
            if wrong:
                n_wrong += 1
                path.append((w, b))
        mistakes.append(n_wrong)
        if n_wrong == 0:            # a clean pass: the data are separated
            break
    return w, b, mistakes, path


w, b, mistakes, path = perceptron_fit(X, t, epochs=EPOCHS, lr=LR)
print("mistakes per epoch:", mistakes)
print(f"w = {w}, b = {b}")
print("training accuracy:", np.mean(predict(w, b, X) == t))

# %% [markdown]
# Six epochs, ten updates in all, and every flower is on its correct side.
#
# ## 4. Check it against `dlcourse` and scikit-learn
#
# The course's reference, `dlcourse.models.Perceptron`, implements the same rule (it takes
# labels $\{0, 1\}$ and codes them as $\pm 1$ inside). scikit-learn's `Perceptron` is
# stochastic gradient descent on the *perceptron loss* $\max(0, -t\,(w^\top x + b))$, with
# learning rate 1 and no regularisation, which is exactly Rosenblatt's rule. With
# `shuffle=False` (visit the examples in the given order) and `tol=None` (run exactly
# `max_iter` epochs) all three must agree to the last bit.

# %%
reference = Perceptron()
reference_mistakes = reference.fit(X, y, epochs=EPOCHS, lr=LR, shuffle=False)
print("dlcourse mistakes per epoch:", reference_mistakes)
dlcourse.check_close("w vs dlcourse.models.Perceptron", w, reference.w, atol=1e-12)
dlcourse.check_close("b vs dlcourse.models.Perceptron", b, reference.b, atol=1e-12)
assert mistakes == reference_mistakes

# %%
sk = SklearnPerceptron(eta0=LR, shuffle=False, tol=None, max_iter=len(mistakes)).fit(X, y)
dlcourse.check_close("w vs sklearn Perceptron", w, sk.coef_[0], atol=1e-12)
dlcourse.check_close("b vs sklearn Perceptron", b, sk.intercept_[0], atol=1e-12)
print("sklearn training accuracy:", sk.score(X, y))

# %% [markdown]
# ## 5. Training, looked at from three angles
#
# **Mistakes per epoch.** This is the perceptron's training curve. It has no loss to
# plot, only the number of updates; it reaches zero once the line separates the data.

# %%
fig, ax = plt.subplots(figsize=(4.5, 3))
ax.bar(range(1, len(mistakes) + 1), mistakes, color="#3b6fd6")
ax.set(xlabel="epoch", ylabel="mistakes (updates)", title="iris: mistakes per epoch")
ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
plt.show()

# %% [markdown]
# **The decision boundary.** `dlcourse.plot.plot_decision_boundary` colours the plane by
# the prediction of the trained model: red for versicolor, blue for setosa.

# %%
fig = plot_decision_boundary(lambda grid: reference.predict(grid), X, y,
                             title="the perceptron's boundary on iris")
fig.axes[0].set(xlabel=FEATURES[0], ylabel=FEATURES[2])
plt.show()

# %% [markdown]
# **How it got there.** The boundary after each of the ten updates. The flowers are
# stored by species (50 setosa, then 50 versicolor), so the first update (on a setosa)
# calls *everything* setosa, the first versicolor then swings the line the other way, and
# for a while the line lies outside the data altogether (one colour fills the panel),
# each update swinging it from "all setosa" to "all versicolor" and back while turning
# it a little. It first lands between the clouds at update 8 (two short-petalled
# versicolors still on the wrong side), swings out once more, and update 10 puts it where
# it stays. Ringed points are the ones misclassified at that moment.

# %%
n_updates = len(path) - 1
fig, axes = plt.subplots(-(-n_updates // 5), 5, figsize=(13, 2.7 * -(-n_updates // 5)),
                         sharex=True, sharey=True, squeeze=False)
for k, ax in enumerate(axes.flat, start=1):
    if k > n_updates:
        ax.axis("off")
        continue
    w_k, b_k = path[k]
    n_wrong = draw_linear_boundary(ax, X, y, w_k, b_k, title=False)
    ax.get_legend().remove()
    ax.set(xlabel="", ylabel="")
    ax.set_title(f"update {k}: {n_wrong} wrong", fontsize=9)
fig.supxlabel(FEATURES[0])
fig.supylabel(FEATURES[2])
fig.tight_layout()
plt.show()

# %% [markdown]
# **The weights.** The same path as numbers. $w_1$ (sepal length) ends negative and
# $w_2$ (petal length) positive: long petals push towards versicolor. The final line
# $w_1 x_1 + w_2 x_2 + b = 0$ is roughly "petal length $\approx 0.37\times$ sepal length
# $+\,0.2$".

# %%
W = np.array([np.r_[w_k, b_k] for w_k, b_k in path])
fig, ax = plt.subplots(figsize=(5, 3))
for k, name in enumerate(["$w_1$ (sepal length)", "$w_2$ (petal length)", "$b$"]):
    ax.step(range(len(W)), W[:, k], where="post", label=name)
ax.axhline(0, color="k", lw=0.5)
ax.set(xlabel="update number", ylabel="value", title="weights after every update")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 6. When does it stop? The convergence theorem
#
# Fold the bias into the weights: write $\tilde x = (x, 1)$ and $\tilde w = (w, b)$, so the
# score is $\tilde w^\top \tilde x$. Suppose some unit vector $u$ separates the data with
# **margin** $\gamma > 0$, that is $t_i\, u^\top \tilde x_i \ge \gamma$ for every $i$, and
# every example is within radius $R$: $\lVert \tilde x_i \rVert \le R$.
#
# **Theorem** (Block 1962; Novikoff 1962). The perceptron makes at most
# $(R/\gamma)^2$ mistakes, whatever the order of the examples.
#
# In words: each mistake pushes $\tilde w$ at least $\gamma$ further along the good
# direction $u$ (so $u^\top \tilde w$ grows linearly in the number of mistakes $k$),
# while its length grows only like $R\sqrt{k}$ (an update adds at most $R^2$ to
# $\lVert \tilde w \rVert^2$, because it happens only when $\tilde w^\top t_i \tilde x_i \le 0$).
# Since $u^\top \tilde w \le \lVert \tilde w \rVert$, we get $k\gamma \le R\sqrt{k}$, that
# is $k \le (R/\gamma)^2$. A wide margin means few mistakes; a thin one, many.
#
# Let us see it on real data. Replace petal length by **sepal width**: the two species
# are still separable, but only just.

# %%
X_thin = X_all[keep][:, [0, 1]].astype(np.float64)    # sepal length, sepal width
w_thin, b_thin, mistakes_thin, _ = perceptron_fit(X_thin, t, epochs=THIN_EPOCHS)
print(f"epochs run: {len(mistakes_thin)}, last epoch's mistakes: {mistakes_thin[-1]}, "
      f"total mistakes: {sum(mistakes_thin)}")

# %% [markdown]
# To compare with the theorem we need a separator with a known margin. The best one is
# the **maximum-margin** line, which a linear support vector machine finds (Cortes &
# Vapnik 1995); scikit-learn's `SVC` with a huge `C` computes it. Its margin, measured in
# the folded-bias space of the theorem, gives a bound on the number of mistakes.

# %%
def mistake_bound(X, y):
    """(R / gamma)^2 with the bias folded in, using the max-margin line as the separator u."""
    svm = SVC(kernel="linear", C=1e6).fit(X, y)
    u = np.r_[svm.coef_[0], svm.intercept_[0]]
    X_tilde = np.c_[X, np.ones(len(X))]
    gamma = np.min(np.where(y == 1, 1, -1) * (X_tilde @ u)) / np.linalg.norm(u)
    R = np.linalg.norm(X_tilde, axis=1).max()
    return gamma, R, (R / gamma) ** 2


for name, data, n in [("sepal length, petal length", X, sum(mistakes)),
                      ("sepal length, sepal width ", X_thin, sum(mistakes_thin))]:
    gamma, R, bound = mistake_bound(data, y)
    print(f"{name}: margin {gamma:.3f}, radius {R:.2f}, bound {bound:8.0f}, actual mistakes {n}")

# %% [markdown]
# The thin margin costs 150 times more updates (1,562 against 10), and both counts stay
# under their bounds. The bound is a worst case over every possible order of the
# examples, so it is loose.
#
# **Centring helps.** $R$ is measured from the origin, and the flowers sit far from it
# (sepals are 4 to 7 cm long). Standardising each feature (subtract the mean, divide by
# the standard deviation) moves the cloud to the origin, shrinks $R$, and the same
# thin-margin problem converges in a handful of epochs. This is the first appearance of a
# lesson that will come back with every architecture: normalise your inputs.

# %%
X_thin_std = (X_thin - X_thin.mean(0)) / X_thin.std(0)
_, _, mistakes_std, _ = perceptron_fit(X_thin_std, t, epochs=THIN_EPOCHS)
print(f"standardised: actual mistakes {sum(mistakes_std)}, per epoch {mistakes_std}")

# %% [markdown]
# The picture: the running total of mistakes, epoch by epoch (log scales), and the
# theorem's bound for each run (dashed, same colour). Each curve ends at the epoch where
# the perceptron stopped making mistakes, below its bound; the raw features need 721
# epochs, the standardised ones 5.

# %%
runs = [("raw sepal features", X_thin, mistakes_thin), ("standardised", X_thin_std, mistakes_std)]
fig, ax = plt.subplots(figsize=(6, 3.4))
for (name, data, m), color in zip(runs, ["#3b6fd6", "#d08c00"]):
    gamma, R, bound = mistake_bound(data, y)
    epochs_axis = np.arange(1, len(m) + 1)
    ax.plot(epochs_axis, np.cumsum(m), color=color, label=f"{name}: {sum(m)} mistakes")
    ax.axhline(bound, color=color, ls="--", lw=1, label=f"bound $(R/\\gamma)^2$ = {bound:.0f}")
ax.set(xscale="log", yscale="log", xlabel="epoch", ylabel="total mistakes so far",
       title="sepal length vs sepal width: a thin margin")
ax.legend(fontsize=7, loc="lower right")
plt.show()

# %% [markdown]
# ## 7. Why XOR fails
#
# XOR labels the four corners of the unit square: $(0,0)$ and $(1,1)$ are one class,
# $(0,1)$ and $(1,0)$ the other. Suppose a line separated them, with $(0,0), (1,1)$
# negative and the other two positive:
#
# $$
# b \le 0, \quad w_1 + w_2 + b \le 0, \quad w_1 + b > 0, \quad w_2 + b > 0 .
# $$
#
# Adding the first two gives $w_1 + w_2 + 2b \le 0$; adding the last two gives
# $w_1 + w_2 + 2b > 0$. A contradiction: **no line separates XOR**. Minsky and Papert's
# book *Perceptrons* (1969) made limits like this famous, and interest in neural networks
# faded for more than a decade, until networks with hidden layers, trained with
# backpropagation (Rumelhart, Hinton & Williams 1986), could learn such functions
# (chapter 03 solves XOR with one).
#
# The perceptron, run on XOR, never gets through an epoch without a mistake:

# %%
X_xor = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
t_xor = np.array([-1.0, 1.0, 1.0, -1.0])
w_xor, b_xor, mistakes_xor, path_xor = perceptron_fit(X_xor, t_xor, epochs=XOR_EPOCHS)
print("XOR mistakes per epoch:", mistakes_xor)
print("(w, b) after each update of the last epoch:", [(w_k.tolist(), float(b_k)) for w_k, b_k in path_xor[-4:]])
assert min(mistakes_xor) > 0, "XOR is not linearly separable: some mistake must remain every epoch"

# %% [markdown]
# In this order the rule is caught in an exact cycle: all four corners are mistakes, and
# the four updates add up to zero, so every epoch starts again from $w = 0, b = 0$.
# Visiting the corners in a fresh random order each epoch (the reference's
# `shuffle=True`) breaks the cycle but not the problem: the count goes up and down and
# never reaches zero. On the right, the best a line can do: three corners out of four.

# %%
xor_shuffled = Perceptron()
mistakes_xor_shuffled = xor_shuffled.fit(X_xor, (t_xor > 0).astype(int), epochs=XOR_EPOCHS,
                                         shuffle=True, seed=0)
print("shuffled order, mistakes per epoch:", mistakes_xor_shuffled)
assert min(mistakes_xor_shuffled) > 0

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
axes[0].plot(range(1, len(mistakes_xor) + 1), mistakes_xor, "o-", label="fixed order")
axes[0].plot(range(1, len(mistakes_xor_shuffled) + 1), mistakes_xor_shuffled, "s-", label="shuffled")
axes[0].set(xlabel="epoch", ylabel="mistakes", ylim=(-0.2, 4.5), title="XOR: the mistakes never reach 0")
axes[0].legend()
n_wrong = draw_linear_boundary(axes[1], X_xor, (t_xor > 0).astype(int), (1.0, 1.0), -0.5, padding=0.4)
axes[1].set_title(f"the line $x_1 + x_2 = 0.5$: {n_wrong} of 4 wrong, the best possible", fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# Every update that fixes one corner breaks another. The same happens on real data that
# is not separable (try versicolor against virginica), which is why later models replace
# "count the mistakes" by a smooth loss that gradient descent can decrease even when zero
# errors is out of reach.
#
# ## 8. Look inside: move the line yourself
#
# The explorer below draws the iris flowers, the line $w_1 x_1 + w_2 x_2 + b = 0$, the
# side it calls versicolor (red) and the misclassified flowers (ringed). Drag the sliders:
# $w$ turns the line (the arrow is $w$, pointing to the positive side), $b$ slides it.
# Find a line with no mistakes that sits further from both clouds than the perceptron's
# (which is $w = (-3.4, 9.1)$, $b = -2$, drawn below; only the direction of $w$ and the
# ratio $b / \lVert w \rVert$ matter, not the length of $w$).
#
# (The sliders need a live kernel. In a static view of the notebook, the picture after it
# shows the same drawing for the learned weights.)

# %%
explorer = perceptron_explorer(X, y, w=(1.0, -1.0), b=0.0, feature_names=(FEATURES[0], FEATURES[2]),
                               class_names=("setosa", "versicolor"))
explorer

# %%
fig, ax = plt.subplots(figsize=(5, 4))
n_wrong = draw_linear_boundary(ax, X, y, w, b, feature_names=(FEATURES[0], FEATURES[2]),
                               class_names=("setosa", "versicolor"))
plt.show()
print("misclassified with the learned weights:", n_wrong)

# %% [markdown]
# ## 9. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check
# cell under it: it says whether your answer is right and, if not, what to change (the
# checks live in `dlcourse.exercises.chapters.ch02_perceptron`). Worked solutions are in
# `solutions/chapters/02_perceptron.py` (try first!).
#
# ### Exercise 1: the AND gate by hand
#
# AND is linearly separable: $(1, 1)$ is positive, the other three corners negative.
# Choose a weight vector and a bias whose line separates them (the explorer can help:
# `perceptron_explorer(X_and, (t_and > 0).astype(int))`).

# %%
X_and = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
t_and = np.array([-1.0, -1.0, -1.0, 1.0])

and_w, and_b = None, None     # YOUR ANSWER: e.g. and_w = (w1, w2), and_b = a number

# %%
exercises.check_and_gate(and_w, and_b)

# %% [markdown]
# ### Exercise 2: the margin of a line
#
# Write `margin(w, b, X, t)`: the signed distance from the line $w^\top x + b = 0$ to the
# closest example, counted positive on the example's correct side,
#
# $$ \gamma(w, b) = \min_i \frac{t_i (w^\top x_i + b)}{\lVert w \rVert} . $$
#
# It is positive exactly when the line separates the data, and it does not change when
# $w$ and $b$ are scaled together. Then compare the margin of the perceptron's iris line
# with the maximum-margin line's.

# %%
def margin(w, b, X, t):
    """Geometric margin: min over examples of t_i (w·x_i + b) / ||w||."""
    return None     # YOUR CODE HERE


# %%
exercises.check_margin(margin)
if margin(w, b, X, t) is not None:       # attempted: the perceptron's iris line against the best one
    svm = SVC(kernel="linear", C=1e6).fit(X, y)
    print(f"perceptron's line: margin {margin(w, b, X, t):.3f} cm; "
          f"max-margin line: {margin(svm.coef_[0], svm.intercept_[0], X, t):.3f} cm")

# %% [markdown]
# The perceptron stops at the *first* separating line it finds, often close to some
# flowers; the maximum-margin line sits as far from both classes as it can, which is why
# it tends to classify new flowers better.
#
# ### Exercise 3: make XOR separable with a new feature
#
# A perceptron can only draw a line in the space of its *inputs*, but nobody says the
# inputs must be the raw $x_1, x_2$. Write `xor_features(X)` returning an $(N, k)$ array of
# features, computed from the columns of `X`, on which the perceptron learns XOR (zero
# mistakes in its last epoch). This is the idea hidden layers automate: they *learn* such
# features (chapter 03).

# %%
def xor_features(X):
    """Map XOR inputs (N, 2) to (N, k) features on which XOR is linearly separable."""
    return None     # YOUR CODE HERE


# %%
exercises.check_xor_features(xor_features)

# %% [markdown]
# **Graded practice.** The assignment `a01_activations_backprop` (in
# `release/a01_activations_backprop/`) goes on from here: activation functions and the
# backward pass of a network with a hidden layer, the model that solves XOR without
# hand-made features.
#
# ## 10. Summary
#
# - A perceptron is one linear threshold unit, $\operatorname{sign}(w^\top x + b)$: a
#   hyperplane with $w$ as its normal.
# - Rosenblatt's rule updates only on mistakes, $w \leftarrow w + \eta t_i x_i$; the step
#   size does not matter when starting from zero. It is SGD on the perceptron loss
#   $\max(0, -t\,(w^\top x + b))$, and scikit-learn's `Perceptron` gives bit-identical weights.
# - On linearly separable data it stops after at most $(R/\gamma)^2$ mistakes (Novikoff):
#   thin margins and off-centre data mean many mistakes; standardising the inputs helps.
# - On data no line can separate (XOR) it never stops. Better features fix that; hidden
#   layers learn the features (next chapter).
#
# ## References
#
# - F. Rosenblatt (1958). *The perceptron: a probabilistic model for information storage
#   and organization in the brain.* Psychological Review 65(6), 386–408.
# - H. D. Block (1962). *The perceptron: a model for brain functioning.* Reviews of Modern
#   Physics 34(1), 123–135.
# - A. B. J. Novikoff (1962). *On convergence proofs on perceptrons.* Symposium on the
#   Mathematical Theory of Automata, 615–622.
# - M. Minsky and S. Papert (1969). *Perceptrons: an introduction to computational
#   geometry.* MIT Press.
# - D. E. Rumelhart, G. E. Hinton and R. J. Williams (1986). *Learning representations by
#   back-propagating errors.* Nature 323, 533–536.
# - C. Cortes and V. Vapnik (1995). *Support-vector networks.* Machine Learning 20, 273–297.
# - Y. Freund and R. E. Schapire (1999). *Large margin classification using the perceptron
#   algorithm.* Machine Learning 37, 277–296.
# - R. A. Fisher (1936). *The use of multiple measurements in taxonomic problems.* Annals of
#   Eugenics 7(2), 179–188 (the iris data).
# - F. Pedregosa et al. (2011). *Scikit-learn: machine learning in Python.* JMLR 12,
#   2825–2830.
