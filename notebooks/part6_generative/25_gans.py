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
# # 25 · GANs
#
# The VAE of chapter 24 scores every pixel with a likelihood and pays for it with blur. A
# generative adversarial network (Goodfellow et al. 2014) has no likelihood at all: a second
# network, the discriminator, learns to tell real images from generated ones, and the generator
# learns to fool it. This chapter writes the game and its losses, builds DCGAN (== PyTorch's
# examples/dcgan, key for key), trains it on MNIST, measures which digits it makes, conditions it
# on the class, translates between two unpaired kinds of digits with a cycle-consistency loss,
# and builds StyleGAN's mapping network and AdaIN.
#
# **What you will build**
#
# - the minimax game and the non-saturating loss, with the gradient that the saturating one loses;
# - DCGAN's generator and discriminator (`dlcourse.models.gan`) trained on MNIST by `dlcourse.fit`
#   with two optimizers;
# - mode collapse measured: the judge's count of samples per digit;
# - a conditional GAN, scored by the share of samples the judge reads as the intended digit;
# - CycleGAN's idea on thin and thick digits (unpaired), and StyleGAN's mapping network and
#   AdaIN (== `F.instance_norm` with the style's scale and shift).
#
# **Prerequisites**: [24 · Autoencoders and the VAE](24_autoencoders_vae.ipynb) (the yardstick),
# [09 · Convolutions](../part3_vision/09_convolutions.ipynb) (transposed convolutions).
#
# **Run time**: CPU (2 cores): fast mode 30 s with the kernel's start (5,000 images, one epoch
# per GAN: 156 steps, and the samples are still grey blobs, every measurement below at its worst;
# the numbers quoted in the text are full mode's); full mode (60,000 images, 5 epochs per GAN,
# 2 epochs of translation) took 17 minutes with another job on the second core. The
# `cgan_mnist` recipe trains the conditional GAN to the target share (`benchmarks/RESULTS.md`). GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse import sample_quality
from dlcourse.checks import check_close
from dlcourse.data import mnist
from dlcourse.exercises.chapters import ch25_gans as exercises
from dlcourse.models.cyclegan import Translator, cycle_gan_step
from dlcourse.models.gan import (Discriminator, Generator, dcgan_init, discriminator_loss, from_unit, gan_step,
                                 generator_loss, to_unit)
from dlcourse.models.stylegan import AdaIN, MappingNetwork
from dlcourse.profiling import count_params

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same data, less of it.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
N_TRAIN = 5_000 if FAST else 60_000    # MNIST training images
EPOCHS = 1 if FAST else 5              # per GAN
BATCH = 32 if FAST else 64
WIDTH = 16 if FAST else 32             # ngf = ndf
CYCLE_EPOCHS = 1 if FAST else 2       # over 2,500 / 30,000 unpaired thin and thick digits
CYCLE_WIDTH, CYCLE_BATCH = (8, 16) if FAST else (16, 32)
N_SAMPLES = 1_000 if FAST else 10_000  # images per measurement
NZ = 64

# %% [markdown]
# ## 1. The game and its losses
#
# The discriminator $D$ outputs the probability that its input is real; the generator $G$ maps
# noise $z \sim \mathcal N(0, I)$ to an image. Goodfellow et al. write one value function,
#
# $$\min_G \max_D\; V(D, G) = \mathbb E_{x}[\log D(x)] + \mathbb E_{z}[\log(1 - D(G(z)))].$$
#
# For a fixed $G$ the best $D$ is $D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_G(x))$, and
# with it $V$ becomes $2\,\mathrm{JS}(p_\text{data}\Vert p_G) - \log 4$: the game's minimum is
# $p_G = p_\text{data}$. For $D$ the objective is binary cross-entropy, real = 1, generated = 0.
# For $G$ the paper itself warns that $\log(1 - D(G(z)))$ *saturates*: early on $D$ rejects
# every sample ($D(G(z)) \approx 0$) and the gradient vanishes. Maximising $\log D(G(z))$
# instead, the *non-saturating* loss, has the same fixed point and a strong gradient exactly
# there. Both from $D$'s logit $\ell$ (with $D = \sigma(\ell)$), checked against binary
# cross-entropy:

# %%
logits = torch.linspace(-6, 6, 121, requires_grad=True)
ones, zeros = torch.ones_like(logits), torch.zeros_like(logits)
check_close("D's loss == BCE(real, 1) + BCE(fake, 0)", discriminator_loss(logits, logits.flip(0)),
            F.binary_cross_entropy_with_logits(logits, ones) + F.binary_cross_entropy_with_logits(logits.flip(0), zeros))
check_close("non-saturating G loss == BCE(fake, 1)", generator_loss(logits),
            F.binary_cross_entropy_with_logits(logits, ones))

grads = {}
for name, saturating in (("saturating: log(1 - D)", True), ("non-saturating: -log D", False)):
    (grads[name],) = torch.autograd.grad(generator_loss(logits, saturating) * len(logits), logits)
fig, ax = plt.subplots(figsize=(6, 3.2))
for name, grad in grads.items():
    ax.plot(torch.sigmoid(logits).detach(), grad.abs(), label=name)
ax.set(xlabel="D(G(z)): the discriminator's belief that a sample is real", ylabel="|d loss / d logit|",
       title="G's gradient per sample")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Where $D(G(z))$ is near 0, the start of training, the saturating loss gives almost no gradient
# and the non-saturating one its largest. `gan_step` uses the non-saturating loss.
#
# ## 2. DCGAN
#
# Radford, Metz & Chintala (2016) found the convolutional recipe that trains stably: the
# generator grows a 1x1 map of noise with transposed convolutions (stride 2 doubles the size),
# BatchNorm everywhere except the generator's output and the discriminator's input, ReLU in the
# generator and LeakyReLU(0.2) in the discriminator, tanh at the output, Adam with lr 2e-4 and
# β1 = 0.5, weights drawn from N(0, 0.02). `Generator(nz, ngf, nc, image_size)` builds it for
# any size $s \cdot 2^k$: 64 is PyTorch's examples/dcgan, key for key (`tests/test_gan.py` loads
# the example's own modules both ways and compares outputs), 28 is MNIST's.

# %%
example_g, example_d = Generator(100, 64, 3, 64), Discriminator(3, 64, 64)
print(f"examples/dcgan at 64x64: G {count_params(example_g):,} weights, D {count_params(example_d):,}")
G, D = Generator(NZ, WIDTH, 1, 28).apply(dcgan_init), Discriminator(1, WIDTH, 28).apply(dcgan_init)
print(G.main)
z = torch.randn(2, NZ)
print(f"z {tuple(z.shape)} -> G(z) {tuple(G(z).shape)} -> D's logit {tuple(D(G(z)).shape)}")

# %% [markdown]
# `dlcourse.fit` trains it with two optimizers: `gan_step` makes one discriminator update on a
# real batch and as many generated images, then one generator update, and returns both losses
# with $D$'s mean belief on real and generated images (`d_real`, `d_fake`). Real images go into
# the tanh's range, [-1, 1].

# %%
train_set = mnist("train", normalise=False, limit=N_TRAIN)
loader = DataLoader(train_set, BATCH, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(0))


def train_gan(conditional: bool, title: str):
    gan = nn.ModuleDict({"g": Generator(NZ, WIDTH, 1, 28, 10 if conditional else 0),
                         "d": Discriminator(1, WIDTH, 28, 10 if conditional else 0)}).apply(dcgan_init)
    optimizers = {k: torch.optim.Adam(gan[k].parameters(), lr=2e-4, betas=(0.5, 0.999)) for k in "gd"}
    history = dlcourse.fit(gan, loader, optimizers, epochs=EPOCHS, step=gan_step(optimizers, conditional),
                           metrics=(), device=device, amp=False, channels_last=False, title=title)
    return gan.cpu(), history


gan, history = train_gan(False, "DCGAN")
print(f"last epoch: D(real) {history.last('train_d_real'):.2f}, D(G(z)) {history.last('train_d_fake'):.2f}")

# %%
def show_grid(images, title, rows=4, cols=10):
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.8, rows * 0.8))
    for ax, image in zip(axes.flat, images):
        ax.imshow(image.reshape(28, 28).detach().cpu().numpy(), cmap="gray", vmin=0, vmax=1), ax.axis("off")
    fig.suptitle(title, fontsize=9)
    plt.show()


with torch.no_grad():
    samples = to_unit(gan["g"](torch.randn(N_SAMPLES, NZ, generator=torch.Generator().manual_seed(0))))
show_grid(samples, "DCGAN samples")

# %% [markdown]
# Sharper than the VAE's, though not every one is a digit. The yardstick of chapter 24 says how
# close they are (the Fréchet distance on the judge's features, real digits' beside it):

# %%
floor = sample_quality.floor(N_SAMPLES)
fid_dcgan = sample_quality.fid(samples)
print(f"FID, {N_SAMPLES:,} images each: real training digits {floor['fid']:.2f} | DCGAN {fid_dcgan:.2f}")

# %% [markdown]
# ## 3. Mode collapse, measured
#
# Nothing in the game asks $G$ to cover every kind of image: fooling $D$ with one convincing
# digit is enough until $D$ learns to reject it, and then $G$ may jump to another. That is *mode
# collapse*, total (every sample alike) or partial (some digits too often, others never). The
# judge makes it a number: the share of samples it reads as each digit, against the 10% of each
# in MNIST.

# %%
def digit_shares(images):
    return torch.bincount(sample_quality.predicted_digits(images), minlength=10).float() / len(images)


shares = digit_shares(samples)
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.bar(range(10), shares * 100)
ax.axhline(10, color="k", ls="--", lw=1, label="MNIST: 10% each")
ax.set(xticks=range(10), xlabel="digit the judge reads", ylabel="% of samples", title="DCGAN, samples per digit")
ax.legend(fontsize=8)
plt.show()
print(f"most frequent digit {int(shares.argmax())}: {shares.max():.1%}; rarest {int(shares.argmin())}: "
      f"{shares.min():.1%}; digits under 5%: {int((shares < 0.05).sum())}")

# %% [markdown]
# An unconditional GAN decides for itself which digits it draws. In full mode (60,000 images, 5
# epochs) the judge read 16.8% of 10,000 samples as 0s and 5.0% as 4s: no digit was dropped, but
# the commonest was drawn three times as often as the rarest, a partial collapse (in fast mode the
# blobs are nearly all read as one digit, the total kind). Their FID was 63.6 against real digits'
# 0.80. Remedies change the game (minibatch discrimination, unrolled GANs, Wasserstein losses)
# or give $G$ the class to draw, so that covering every class is part of the task.
#
# ## 4. A conditional GAN
#
# Mirza & Osindero (2014): give both players the label. The generator reads $z$ concatenated
# with the digit's one-hot vector; the discriminator reads the image with one constant plane per
# class, so that it can reject a well-drawn 3 labelled 7. Now the judge can score what it could
# not before: the share of samples it reads as the digit asked for.
#
# In full mode 97.1% of 10,000 samples were read as the digit asked for, and their FID fell to 4.16
# (the unconditional GAN's: 63.6): knowing the class also made each digit better drawn. The
# `cgan_mnist` recipe reaches 97.9% after 6 epochs.

# %%
cgan, c_history = train_gan(True, "conditional GAN")
labels = torch.arange(10).repeat(N_SAMPLES // 10)
with torch.no_grad():
    c_samples = to_unit(cgan["g"](torch.randn(N_SAMPLES, NZ, generator=torch.Generator().manual_seed(0)), labels))
show_grid(c_samples[:100], "conditional GAN: column d asks for digit d", rows=10, cols=10)   # labels 0..9 repeated
share = sample_quality.classified_as(c_samples, labels)
print(f"read as the intended digit: {share:.1%} of {N_SAMPLES:,} samples | FID {sample_quality.fid(c_samples):.2f} "
      f"(real {floor['fid']:.2f}); samples per digit by construction: 10% each")

# %% [markdown]
# ## 5. Cycle consistency: translation without pairs
#
# Pix2Pix (Isola et al. 2017) learns image-to-image translation from *pairs* (a sketch and its
# photo): an L1 loss to the known target plus an adversarial one. CycleGAN (Zhu et al. 2017) needs
# no pairs: a translator $G: A \to B$ is trained against a discriminator of $B$, a second one $F:
# B \to A$ against a discriminator of $A$, and the cycle-consistency loss
# $\lVert F(G(a)) - a\rVert_1 + \lVert G(F(b)) - b\rVert_1$ asks each translation to keep enough
# of its input to be undone. Here $A$ is MNIST's digits and $B$ *other* digits thickened by a
# 3x3 max-filter: no digit appears in both, so no pair exists.

# %%
half = N_TRAIN // 2
thin = from_unit(train_set.tensors[0][:half])
thick = from_unit(F.max_pool2d(train_set.tensors[0][half:2 * half], 3, 1, 1))
unpaired = DataLoader(TensorDataset(thin, thick), CYCLE_BATCH, shuffle=True, drop_last=True,   # reshuffled: no pairs
                      generator=torch.Generator().manual_seed(0))
cycle_gan = nn.ModuleDict({"to_b": Translator(width=CYCLE_WIDTH, blocks=1), "to_a": Translator(width=CYCLE_WIDTH, blocks=1),
                           "d_b": Discriminator(1, CYCLE_WIDTH, 28).apply(dcgan_init),
                           "d_a": Discriminator(1, CYCLE_WIDTH, 28).apply(dcgan_init)})
adam = lambda *nets: torch.optim.Adam([p for n in nets for p in cycle_gan[n].parameters()], lr=2e-4, betas=(0.5, 0.999))
optimizers = {"g": adam("to_b", "to_a"), "d": adam("d_b", "d_a")}
cycle_history = dlcourse.fit(cycle_gan, unpaired, optimizers, epochs=CYCLE_EPOCHS, step=cycle_gan_step(optimizers),
                             metrics=(), device=device, amp=False, channels_last=False, title="thin <-> thick")
cycle_gan.cpu()
to_thick, to_thin = cycle_gan["to_b"], cycle_gan["to_a"]
print(f"after {CYCLE_EPOCHS * len(unpaired)} steps: cycle loss {cycle_history.last('train_cycle'):.3f}, "
      f"adversarial {cycle_history.last('train_loss'):.3f}")

# %%
test_images, test_labels = mnist("test", normalise=False, limit=N_SAMPLES).tensors
with torch.no_grad():
    translated = to_unit(to_thick.eval()(from_unit(test_images)))
    restored = to_unit(to_thin.eval()(from_unit(translated)))
show_grid(torch.cat([test_images[:10], translated[:10], restored[:10]]), "test digits | to thick | and back", rows=3)
ink = lambda x: float(x.mean())
print(f"ink (mean grey level): test digits {ink(test_images):.3f}, translated {ink(translated):.3f}, "
      f"thickened digits {ink(F.max_pool2d(test_images, 3, 1, 1)):.3f}")
print(f"the judge reads the translated digit as the original's label: {sample_quality.classified_as(translated, test_labels):.1%}")

# %% [markdown]
# The ink says whether the translation reached the other domain; the judge says whether the digit
# survived it, which only the cycle loss asks for (the discriminator of thick digits would accept
# any thick digit). In full mode (1,874 steps) the translated test digits carried 0.252 of ink
# against the thickened digits' 0.261 (the originals: 0.133), and the judge read 95.7% of them as
# their original's label.
#
# ## 6. StyleGAN's mapping network and AdaIN
#
# Karras et al. (2019) feed the noise not into the first layer but through a *mapping network*,
# 8 fully connected layers from $z$ to $w$, and let $w$ steer every layer of the generator by
# adaptive instance normalisation: each channel of each image is normalised over its pixels and
# then given a scale and a shift computed from $w$,
# $\mathrm{AdaIN}(x, w) = y_s(w)\,\frac{x - \mu(x)}{\sigma(x)} + y_b(w)$. The layer's own
# statistics are replaced by the style's, which is why styles can be mixed layer by layer. The
# paper's mapping network has 8 x (512 x 512 + 512) weights; AdaIN is instance norm followed by
# the style's affine map:

# %%
mapping = MappingNetwork()
print(f"mapping network: {count_params(mapping):,} weights (8 x (512 x 512 + 512) = {8 * (512 * 512 + 512):,})")
adain = AdaIN(channels=8, w_dim=512)
x, w = torch.randn(4, 8, 7, 7) * 3 + 2, mapping(torch.randn(4, 512))
scale, shift = adain.style(w).chunk(2, 1)
check_close("AdaIN == F.instance_norm(x) * scale + shift", adain(x, w),
            F.instance_norm(x, eps=adain.eps) * scale[:, :, None, None] + shift[:, :, None, None])
out = adain(x, w)
check_close("each output channel's mean is the style's shift", out.mean((2, 3)), shift, atol=1e-5, rtol=0)

# %% [markdown]
# ## 7. Exercises
#
# No graded assignment covers Part 6; these two self-checking exercises build the chapter's
# smallest pieces.
#
# ### Exercise 1: the non-saturating loss
#
# Write `non_saturating_loss(fake_logits)`: $-\frac1N\sum \log D(G(z))$ from the discriminator's
# logits, finite even for a logit of -200 in float32.

# %%
def non_saturating_loss(fake_logits):
    return None     # YOUR CODE HERE


# %%
exercises.check_non_saturating_loss(non_saturating_loss)

# %% [markdown]
# ### Exercise 2: AdaIN
#
# Write `adain(x, scale, shift)`: (N, C, H, W) features normalised per image and channel over the
# pixels (biased variance, eps 1e-5), then multiplied by the (N, C) `scale` and shifted by the
# (N, C) `shift`.

# %%
def adain(x, scale, shift):
    return None     # YOUR CODE HERE


# %%
exercises.check_adain(adain)

# %% [markdown]
# ## 8. Summary
#
# - A GAN trains a generator against a discriminator; the minimax value is a Jensen–Shannon
#   divergence at the best discriminator; the generator uses the non-saturating loss, whose
#   gradient does not vanish when its samples are rejected.
# - DCGAN's rules (transposed convolutions, BatchNorm, LeakyReLU, Adam β1 = 0.5) are PyTorch's
#   examples/dcgan, key for key.
# - Nothing makes a GAN cover every mode; the judge's samples-per-digit histogram measures it.
#   Conditioning on the class makes coverage part of the task, and the judge scores it.
# - CycleGAN translates between unpaired domains: adversarial losses move an image to the other
#   domain, the cycle loss keeps its content.
# - StyleGAN maps z to w and steers each layer by AdaIN, instance norm with the style's scale and
#   shift.
#
# ## References
#
# - Goodfellow et al. (2014), *Generative Adversarial Nets*, NeurIPS.
# - Radford, Metz & Chintala (2016), *Unsupervised Representation Learning with Deep
#   Convolutional Generative Adversarial Networks*, ICLR.
# - Mirza & Osindero (2014), *Conditional Generative Adversarial Nets*, arXiv:1411.1784.
# - Isola, Zhu, Zhou & Efros (2017), *Image-to-Image Translation with Conditional Adversarial
#   Networks* (Pix2Pix), CVPR.
# - Zhu, Park, Isola & Efros (2017), *Unpaired Image-to-Image Translation using Cycle-Consistent
#   Adversarial Networks* (CycleGAN), ICCV.
# - Huang & Belongie (2017), *Arbitrary Style Transfer in Real-time with Adaptive Instance
#   Normalization*, ICCV.
# - Karras, Laine & Aila (2019), *A Style-Based Generator Architecture for Generative Adversarial
#   Networks*, CVPR.
# - Metz, Poole, Pfau & Sohl-Dickstein (2017), *Unrolled Generative Adversarial Networks*, ICLR.
