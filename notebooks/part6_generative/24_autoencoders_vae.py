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
# # 24 · Autoencoders and the VAE
#
# Every model so far mapped an image to a label. A generative model goes the other way: it
# learns where the images of a data set live, so that it can draw new ones. The simplest
# attempt squeezes each image through a small code and learns to rebuild it (an autoencoder);
# this chapter shows why that alone does not make a generator, and how the variational
# autoencoder (Kingma & Welling 2014) fixes it by making the code a probability distribution,
# trained by a bound on the data's likelihood that we derive, check against PyTorch's
# `torch.distributions` and PyTorch's own examples/vae, and train on MNIST.
#
# **What you will build**
#
# - an autoencoder, its reconstructions, and the blur it decodes from a random code;
# - the evidence lower bound (ELBO): a reconstruction term and a KL term in closed form
#   (== `torch.distributions.kl_divergence`), in nats per image;
# - the reparameterisation trick, and why `sample()` would stop the gradient;
# - a VAE (`dlcourse.models.vae`, == examples/vae with the same weights) trained on MNIST;
# - samples measured with the course's yardstick (a LeNet-5 judge: the FID on its features),
#   a 2-D code space coloured by digit, and a walk between two real digits.
#
# **Prerequisites**: [05 · Losses](../part2_training/05_losses.ipynb) (cross-entropy as a
# negative log-likelihood), [10 · LeNet-5](../part3_vision/10_lenet5.ipynb) (the judge).
#
# **Run time**: CPU (2 cores): fast mode about 20 s with the kernel's start (10,000 training
# images, 2 epochs: blurry but recognisable digits), plus about 25 s once to train the judge
# into the cache; full mode (60,000 images, 20 epochs each of the autoencoder, the 784-400-20
# VAE and the 2-D one) took 6 minutes with another job on the second core, to a test negative
# ELBO of 103.5 nats. The `vae_mnist` recipe trains a wider VAE to a test negative ELBO of 96.3 nats
# in 5 minutes (`benchmarks/RESULTS.md`). GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence
from torch.utils.data import DataLoader

import dlcourse
from dlcourse import sample_quality
from dlcourse.checks import check_close
from dlcourse.data import mnist
from dlcourse.exercises.chapters import ch24_autoencoders_vae as exercises
from dlcourse.models.vae import VAE, Autoencoder, gaussian_kl, negative_elbo, reconstruction_nll, reparameterise, vae_step
from dlcourse.widgets import interpolate, latent_explorer

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same data, less of it.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
N_TRAIN = 10_000 if FAST else 60_000   # MNIST training images
EPOCHS = 2 if FAST else 20             # for the autoencoder and the VAE
EPOCHS_2D = 2 if FAST else 20          # for the VAE with a 2-D code
N_SAMPLES = 1_000 if FAST else 10_000  # images per FID (FID depends on the count: compare equal counts)
LATENT = 20

# %% [markdown]
# ## 1. The data, as probabilities of ink
#
# A generative model scores an image by how likely it finds it. The classifiers of Part 3 read
# MNIST normalised to mean 0; here each pixel is a grey level in [0, 1], read as the probability
# that the pixel is ink, so that a model's output can be scored pixel by pixel with the
# Bernoulli likelihood, the binary cross-entropy.

# %%
train_set = mnist("train", flatten=True, normalise=False, limit=N_TRAIN)
test_set = mnist("test", flatten=True, normalise=False)
train_loader = DataLoader(train_set, 128, shuffle=True, generator=torch.Generator().manual_seed(0))
test_loader = DataLoader(test_set, 1000)
test_images, test_labels = test_set.tensors
print(f"{len(train_set):,} training images, {len(test_set):,} test images; grey levels in "
      f"[{float(test_images.min()):.0f}, {float(test_images.max()):.0f}]")


def show_row(images, title="", n=10):
    fig, axes = plt.subplots(1, n, figsize=(n * 0.9, 1.2))
    for ax, image in zip(axes, images[:n]):
        ax.imshow(image.reshape(28, 28).detach().cpu().numpy(), cmap="gray", vmin=0, vmax=1), ax.axis("off")
    fig.suptitle(title, fontsize=9, x=0.02, ha="left")
    plt.show()


show_row(test_images, "test digits")

# %% [markdown]
# ## 2. An autoencoder, and why it does not generate
#
# An encoder maps 784 pixels to a code of 20 numbers, a decoder maps the code back to 784
# pixel logits, and the loss is the reconstruction's binary cross-entropy summed over pixels.
# The bottleneck forces the code to keep what matters about a digit. `dlcourse.fit` trains it
# with a `step` that returns that loss.

# %%
def autoencoder_step(model, batch):
    x = batch[0]
    return {"loss": reconstruction_nll(model(x), x).mean()}


autoencoder = Autoencoder(latent=LATENT)
optimizer = torch.optim.Adam(autoencoder.parameters(), lr=1e-3)
ae_history = dlcourse.fit(autoencoder, train_loader, optimizer, epochs=EPOCHS, step=autoencoder_step,
                          val_loader=test_loader, metrics=(), device=device, amp=False, title="autoencoder")
autoencoder.cpu().eval()
with torch.no_grad():
    ae_reconstructions = autoencoder(test_images[:10]).sigmoid()
show_row(ae_reconstructions, f"autoencoder reconstructions ({ae_history.last('val_loss'):.1f} nats per test image)")

# %% [markdown]
# It rebuilds digits well. To *generate*, we would draw a new code and decode it. But from
# where? Nothing in training said where the codes live. The naive answer, the standard normal
# that the VAE below will use, meets codes of another scale and shape:

# %%
with torch.no_grad():
    codes = autoencoder.encode(train_set.tensors[0][:5000])
    ae_standard = autoencoder.decode(torch.randn(N_SAMPLES, LATENT, generator=torch.Generator().manual_seed(0))).sigmoid()
print(f"the training images' codes: means from {float(codes.mean(0).min()):.1f} to {float(codes.mean(0).max()):.1f}, "
      f"standard deviations from {float(codes.std(0).min()):.1f} to {float(codes.std(0).max()):.1f}")
show_row(ae_standard, "autoencoder, codes from N(0, I)")

# %% [markdown]
# Smudges. A better guess fits a Gaussian to the codes of real images after training (each
# coordinate's mean and spread), the route Ghosh et al. (2020) take with their regularised
# autoencoders:

# %%
with torch.no_grad():
    fitted = Normal(codes.mean(0), codes.std(0))
    torch.manual_seed(0)
    ae_fitted = autoencoder.decode(fitted.sample((N_SAMPLES,))).sigmoid()
show_row(ae_fitted, "autoencoder, codes from a Gaussian fitted to its codes")

# %% [markdown]
# Better, and still uneven: the codes of real digits fill a thin, tangled region, and a point
# drawn between them lands where the decoder was never asked anything. To measure rather than
# squint, the course has a yardstick (`dlcourse.sample_quality`): a LeNet-5 trained on MNIST
# (chapter 10) reads each image, and the Fréchet distance compares the Gaussian of its 84
# penultimate features on our images with the one on the 10,000 test digits,
# $d^2 = \lVert\mu_1-\mu_2\rVert^2 + \operatorname{Tr}(\Sigma_1+\Sigma_2-2(\Sigma_1\Sigma_2)^{1/2})$
# (the FID of Heusel et al. 2017, on the course's features instead of Inception's; lower is
# closer to real digits). Real training digits give the floor. The judge is trained once
# (about 25 s) and kept in the cache.

# %%
floor = sample_quality.floor(N_SAMPLES)
fid = {"real training digits": floor["fid"], "autoencoder, N(0, I) codes": sample_quality.fid(ae_standard),
       "autoencoder, fitted Gaussian": sample_quality.fid(ae_fitted)}
print(f"judge's test accuracy {floor['classified_as']:.2%}; FID, {N_SAMPLES:,} images each:")
for name, value in fid.items():
    print(f"  {name:32s} {value:8.2f}")

# %% [markdown]
# ## 3. The variational autoencoder
#
# The VAE makes the code space a known place by writing the model as a distribution: a code
# $z \sim p(z) = \mathcal N(0, I)$, then an image $x \sim p_\theta(x \mid z)$ (a Bernoulli per
# pixel, with the decoder's probabilities). Training should maximise $\log p_\theta(x) = \log
# \int p_\theta(x\mid z)\,p(z)\,dz$, which no one can compute. The encoder gives, per image, a
# Gaussian $q_\phi(z\mid x) = \mathcal N(\mu, \operatorname{diag}\sigma^2)$ that guesses which
# codes could have made it, and Jensen's inequality turns the guess into a bound:
#
# $$\log p_\theta(x) = \log \mathbb E_{q}\Big[\frac{p_\theta(x\mid z)\,p(z)}{q_\phi(z\mid x)}\Big]
#   \;\ge\; \mathbb E_{q}[\log p_\theta(x\mid z)] - \mathrm{KL}\big(q_\phi(z\mid x)\,\Vert\,p(z)\big)
#   = \mathrm{ELBO}(x).$$
#
# The gap is $\mathrm{KL}(q_\phi(z\mid x)\Vert p_\theta(z\mid x))$: the bound is tight when the
# encoder's guess is the true posterior. The loss is $-\mathrm{ELBO}$, in nats per image: a
# reconstruction term (the autoencoder's loss, for a code drawn from $q$) and a KL term that
# pulls every image's Gaussian towards $\mathcal N(0, I)$, which is what fills the space between
# codes. For two Gaussians the KL has a closed form, per coordinate
# $\tfrac12(\mu^2 + \sigma^2 - \log\sigma^2 - 1)$, summed over the code. The encoder outputs
# $\log\sigma^2$ (`logvar`), so that any real number is a valid variance. Checked against
# `torch.distributions`:

# %%
g = torch.Generator().manual_seed(0)
mu, logvar = torch.randn(8, LATENT, generator=g), torch.randn(8, LATENT, generator=g)
check_close("closed-form KL(q || N(0, I)) per image", gaussian_kl(mu, logvar),
            kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1))

# %% [markdown]
# ### The reparameterisation trick
#
# The reconstruction term is an expectation over $z \sim q_\phi$; we estimate it with one draw
# per image. But a draw is not differentiable in the distribution's parameters: sampling
# $\mathcal N(\mu, \sigma^2)$ directly passes no gradient back to $\mu$ and $\sigma$, so the
# encoder would learn nothing from the reconstruction. Kingma & Welling draw the noise alone,
# $\varepsilon \sim \mathcal N(0, I)$, and write $z = \mu + \sigma\,\varepsilon$: the same
# distribution, now a differentiable function of $\mu$ and $\sigma$. `torch.distributions`
# names the two: `sample()` and `rsample()`.

# %%
mu = torch.zeros(3, requires_grad=True)
print("Normal(mu, 1).sample() has a gradient:", Normal(mu, 1.0).sample().requires_grad)
z = reparameterise(mu, torch.zeros(3))
z.sum().backward()
print("mu + sigma * eps has a gradient: dz/dmu =", mu.grad.tolist())

# %% [markdown]
# `dlcourse.models.vae.VAE` is that model: an MLP encoder to `mu` and `logvar`, one
# reparameterised draw, an MLP decoder to pixel logits. With `hidden=(400,), latent=20` it is
# PyTorch's examples/vae, whose keys load into it by a key copy (`EXAMPLES_VAE_KEYS`);
# `tests/test_vae.py` holds our loss and every gradient equal to that example's
# `loss_function` with the same weights and noise. Here, the same check against the example's
# formula written in one line (sigmoid, then the summed binary cross-entropy, then the KL):

# %%
vae = VAE(hidden=(400,), latent=LATENT)
x = test_images[:64]
torch.manual_seed(1)
logits, mu, logvar = vae(x)
theirs = (F.binary_cross_entropy(logits.sigmoid(), x, reduction="sum")
          - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())) / len(x)
check_close("-ELBO per image == examples/vae's loss_function / N", negative_elbo(logits, x, mu, logvar)["loss"], theirs)
print(f"an untrained VAE: {float(theirs):.1f} nats per image (784 ln 2 = {784 * torch.log(torch.tensor(2.0)):.1f} "
      "for a decoder that says 0.5 everywhere)")

# %% [markdown]
# ## 4. Training the VAE
#
# `vae_step` returns the loss and its two terms, so `dlcourse.fit` logs each: watch the KL rise
# at first (the encoder starts using its code) while the reconstruction falls.

# %%
optimizer = torch.optim.Adam(vae.parameters(), lr=1e-3)
history = dlcourse.fit(vae, train_loader, optimizer, epochs=EPOCHS, step=vae_step, val_loader=test_loader,
                       metrics=(), device=device, amp=False, title="VAE")
vae.cpu().eval()
print(f"test -ELBO {history.last('val_loss'):.2f} nats per image = reconstruction "
      f"{history.last('val_reconstruction'):.2f} + KL {history.last('val_kl'):.2f}")

# %% [markdown]
# The autoencoder's reconstruction loss is lower than the VAE's: it does not pay the KL, and
# its code is exact where the VAE's is noisy. What the VAE buys is a code space it can sample.

# %% [markdown]
# ## 5. Look inside: reconstructions and samples

# %%
with torch.no_grad():
    torch.manual_seed(2)
    vae_reconstructions = vae(test_images[:10])[0].sigmoid()
show_row(test_images, "test digits")
show_row(vae_reconstructions, "VAE reconstructions (one code drawn from q each)")
vae_samples = vae.sample(N_SAMPLES, torch.Generator().manual_seed(0))
show_row(vae_samples, "VAE samples: codes from N(0, I), decoded")

fid["VAE, N(0, I) codes"] = sample_quality.fid(vae_samples)
for name, value in fid.items():
    print(f"  {name:32s} {value:8.2f}")
better = "VAE" if fid["VAE, N(0, I) codes"] < fid["autoencoder, fitted Gaussian"] else "fitted autoencoder"
print(f"closer to real digits at this budget: the {better}")

# %% [markdown]
# The VAE needs no fitting after the fact: its prior is part of the model, its codes from
# $\mathcal N(0, I)$ decode to digits, and its loss is a bound on the likelihood, which an
# autoencoder does not give. How it compares with the fitted autoencoder depends on training:
# in full mode (60,000 images, 20 epochs each) the VAE's samples measured 121.0 against the
# fitted autoencoder's 158.2 and the codes from N(0, I)'s 870.5 (10,000 samples each, real digits
# 0.80); in fast mode (10,000 images, 2 epochs) the VAE is still far from trained and the first
# two swap places (the line above says which). The
# samples are blurrier than real digits: the decoder's mean averages over what the code leaves
# open, and the Bernoulli likelihood rewards hedging. Chapter 25's GANs trade the likelihood for
# sharpness; chapter 26's diffusion models get both.
#
# ## 6. A code space you can see
#
# With a 2-D code the whole space fits on a page. Each test digit's mean code, coloured by its
# label: the KL term packs them around the origin, one region per digit, with no gaps between.

# %%
vae2 = VAE(hidden=(400,), latent=2)
optimizer = torch.optim.Adam(vae2.parameters(), lr=1e-3)
dlcourse.fit(vae2, train_loader, optimizer, epochs=EPOCHS_2D, step=vae_step, val_loader=test_loader, metrics=(),
             device=device, amp=False, title="VAE, 2-D code", live_plot=False)
vae2.cpu().eval()
with torch.no_grad():
    means = vae2.encode(test_images)[0]
    grid = torch.linspace(-2.5, 2.5, 12)
    row_major = torch.stack([grid.repeat(12), grid.flip(0).repeat_interleave(12)], 1)   # top row: largest z_2
    manifold = vae2.decode(row_major).sigmoid()

fig, (ax_codes, ax_grid) = plt.subplots(1, 2, figsize=(11, 5))
points = ax_codes.scatter(means[:, 0], means[:, 1], c=test_labels, cmap="tab10", s=2)
ax_codes.legend(*points.legend_elements(), fontsize=7, markerscale=0.8, loc="upper right")
ax_codes.set(title="test digits' mean codes, by label", xlabel="$z_1$", ylabel="$z_2$")
tiles = manifold.reshape(12, 12, 28, 28).permute(0, 2, 1, 3).reshape(12 * 28, 12 * 28)
ax_grid.imshow(tiles, cmap="gray", extent=(-2.5, 2.5, -2.5, 2.5))
ax_grid.set(title="decoded on a grid of codes", xlabel="$z_1$", ylabel="$z_2$")
plt.show()

# %% [markdown]
# ## 7. A walk between two digits
#
# Encode two real test digits, walk the straight line between their codes, decode each step.
# The VAE passes through digit-like images; drag the slider (in a live notebook).

# %%
with torch.no_grad():
    z_a, z_b = vae.encode(test_images[[0, 1]])[0]
decode = lambda z: vae.decode(z).sigmoid()
show_row(interpolate(decode, z_a, z_b, steps=10), f"from a {int(test_labels[0])} to a {int(test_labels[1])}")
latent_explorer(decode, z_a, z_b)

# %% [markdown]
# ## 8. Exercises
#
# No graded assignment covers Part 6; these two self-checking exercises build the VAE's two
# new pieces.
#
# ### Exercise 1: the reparameterisation trick
#
# Write `reparameterise(mu, logvar)`: a draw from $\mathcal N(\mu, \operatorname{diag}
# \exp(\text{logvar}))$ per row, written so that gradients reach `mu` and `logvar`.

# %%
def my_reparameterise(mu, logvar):
    return None     # YOUR CODE HERE


# %%
exercises.check_reparameterise(my_reparameterise)

# %% [markdown]
# ### Exercise 2: the KL term
#
# Write `kl_to_prior(mu, logvar)`: for (N, D) means and log-variances, the (N,) divergences
# $\mathrm{KL}(\mathcal N(\mu, \operatorname{diag}\sigma^2)\,\Vert\,\mathcal N(0, I))$ in nats.

# %%
def kl_to_prior(mu, logvar):
    return None     # YOUR CODE HERE


# %%
exercises.check_kl_to_prior(kl_to_prior)

# %% [markdown]
# ## 9. Summary
#
# - An autoencoder learns a code that rebuilds its images, but not where codes live: codes from
#   N(0, I) decode to smudges; a Gaussian fitted to its codes afterwards does better.
# - The VAE's encoder gives each image a Gaussian over codes; the ELBO, a reconstruction term
#   plus a closed-form KL to $\mathcal N(0, I)$, bounds $\log p(x)$ from below, and the KL fills
#   the code space, so codes from the prior decode to digits.
# - The reparameterisation trick, $z = \mu + \sigma\varepsilon$, makes the draw differentiable
#   (`rsample`, not `sample`).
# - The course's yardstick, a LeNet-5 judge and the Fréchet distance on its features, measures
#   samples against real digits; chapters 25 and 26 use it too.
#
# ## References
#
# - Kingma & Welling (2014), *Auto-Encoding Variational Bayes*, ICLR.
# - Rezende, Mohamed & Wierstra (2014), *Stochastic Backpropagation and Approximate Inference
#   in Deep Generative Models*, ICML.
# - Hinton & Salakhutdinov (2006), *Reducing the Dimensionality of Data with Neural Networks*,
#   Science (autoencoders).
# - Heusel, Ramsauer, Unterthiner, Nessler & Hochreiter (2017), *GANs Trained by a Two
#   Time-Scale Update Rule Converge to a Local Nash Equilibrium*, NeurIPS (the FID).
# - PyTorch examples, `vae/main.py` (the anchor: about 105 nats after 10 epochs).
