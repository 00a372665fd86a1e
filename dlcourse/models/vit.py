"""Vision Transformer (Dosovitskiy et al., "An image is worth 16x16 words", ICLR 2021).

Cut the image into p x p patches, flatten each, project it to D features (the *patch
embedding*), put a learned *class token* in front, add learned *position embeddings*, and run a
standard pre-LN Transformer encoder over the 1 + HW/p^2 tokens; the class token's final state,
layer-normed, is classified by one linear layer. No convolution beyond the patch projection, no
pooling: all the spatial mixing is attention. Parameter names are torchvision's
(``torchvision.models.VisionTransformer``), so its state dicts load here strictly and ours load
there.

Table 1 of the paper (and torchvision's builders; parameters with 1000 classes at 224x224):

    name       layers  hidden D  MLP   heads  patch  parameters
    vit_b_16   12      768       3072  12     16     86,567,656
    vit_b_32   12      768       3072  12     32     88,224,232
    vit_l_16   24      1024      4096  16     16     304,326,632
    vit_l_32   24      1024      4096  16     32     306,535,400
    vit_h_14   32      1280      5120  16     14     632,045,800

The patch embedding is one linear map of each flattened patch. torchvision writes it as a
convolution with kernel = stride = p (``conv_proj``); ``patchify`` + a matrix product with the
same weights is the same computation (``ViTConfig(patch_embedding="linear")`` runs the model
that way, with the same parameters and keys).

The encoder block is the course's ``TransformerEncoderLayer`` with ``norm_first=True``,
``activation="gelu"`` and LayerNorm eps 1e-6, using the course's ``MultiheadAttention``; it is
written out here only because torchvision names its parts differently (``ln_1``,
``self_attention``, ``mlp.0``, ``mlp.3`` for ``norm1``, ``self_attn``, ``linear1``, ``linear2``):
``ENCODER_LAYER_KEYS`` is that renaming as a ``KeyMap``, and ``tests/test_vit.py`` proves the two
equal through it.

``attention_rollout`` (Abnar & Zuidema 2020, "Quantifying attention flow in transformers")
multiplies the layers' head-averaged attention, each mixed half and half with the identity for
the residual path, to say how much each input patch reaches the class token.

The CIFAR-sized variant is ``small_input=True`` (32x32 images, patches a quarter as wide:
16 -> 4, so a 32x32 image still gives 64 tokens) and ``vit_cifar``, a small net that trains on a CPU.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.models.attention import MultiheadAttention, capture_attention
from dlcourse.models.config import KeyMap, ModelConfig

__all__ = ["ViTConfig", "patchify", "MLPBlock", "EncoderBlock", "Encoder", "ViT", "ENCODER_LAYER_KEYS",
           "attention_rollout", "rollout_maps", "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14",
           "vit_cifar"]

# our TransformerEncoderLayer(norm_first=True) keys -> the ViT block's (torchvision's names)
ENCODER_LAYER_KEYS = KeyMap(rename=[(r"^norm1\.", "ln_1."), (r"^norm2\.", "ln_2."),
                                    (r"^self_attn\.", "self_attention."), (r"^linear1\.", "mlp.0."),
                                    (r"^linear2\.", "mlp.3.")])


@dataclass
class ViTConfig(ModelConfig):
    """The hyper-parameters of a ViT (torchvision's ``VisionTransformer`` arguments, same names)."""

    image_size: int = 224
    patch_size: int = 16
    num_layers: int = 12
    num_heads: int = 12
    hidden_dim: int = 768
    mlp_dim: int = 3072
    dropout: float = 0.0
    attention_dropout: float = 0.0
    num_classes: int = 1000
    representation_size: int | None = None     # a tanh "pre-logits" layer before the head (pre-training)
    in_channels: int = 3
    layer_norm_eps: float = 1e-6
    patch_embedding: str = "conv"              # "conv" (torchvision's) or "linear" (patchify + matmul): same weights

    # Hugging Face's ViTConfig names, for from_pretrained_config
    PRETRAINED_FIELDS = {"num_layers": "num_hidden_layers", "num_heads": "num_attention_heads",
                         "hidden_dim": "hidden_size", "mlp_dim": "intermediate_size",
                         "dropout": "hidden_dropout_prob", "attention_dropout": "attention_probs_dropout_prob",
                         "in_channels": "num_channels"}

    def validate(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(f"ViTConfig: image_size ({self.image_size}) must be a multiple of patch_size "
                             f"({self.patch_size}): the patches tile the image exactly.")
        if self.hidden_dim % self.num_heads:
            raise ValueError(f"ViTConfig: hidden_dim ({self.hidden_dim}) must be a multiple of num_heads "
                             f"({self.num_heads}); each head gets hidden_dim / num_heads features.")
        if self.patch_embedding not in ("conv", "linear"):
            raise ValueError(f"ViTConfig: patch_embedding is 'conv' or 'linear', not {self.patch_embedding!r}.")

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def seq_length(self) -> int:
        return self.num_patches + 1                # + the class token


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, HW/p^2, C p^2): the patches in raster order (left to right, then down),
    each flattened channel first, then rows, then columns: the order of ``conv.weight.flatten(1)``,
    so ``patchify(x, p) @ conv.weight.flatten(1).T + conv.bias`` is the stride-p convolution."""
    if images.dim() != 4 or images.size(-1) % patch_size or images.size(-2) % patch_size:
        raise ValueError(f"patchify: expected images (N, C, H, W) with H and W multiples of {patch_size}, "
                         f"got {tuple(images.shape)}.")
    return F.unfold(images, kernel_size=patch_size, stride=patch_size).transpose(1, 2)


class MLPBlock(nn.Sequential):
    """Linear(D, mlp) -> GELU -> Dropout -> Linear(mlp, D) -> Dropout: keys ``0.*`` and ``3.*``, as
    torchvision's MLPBlock, with its initialisation (Xavier-uniform weights, biases N(0, 1e-6^2))."""

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float):
        super().__init__(nn.Linear(in_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, in_dim),
                         nn.Dropout(dropout))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=1e-6)


class EncoderBlock(nn.Module):
    """x + attn(LN(x)), then + MLP(LN(.)): pre-LN (the LayerNorm inside the residual branch), which
    trains deep stacks without the warm-up a post-LN Transformer needs (Xiong et al. 2020)."""

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float, attention_dropout: float,
                 eps: float = 1e-6):
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=eps)
        self.self_attention = MultiheadAttention(hidden_dim, num_heads, dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=eps)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, L, D) -> (N, L, D)
        h = self.ln_1(x)
        x = x + self.dropout(self.self_attention(h, h, h, need_weights=False)[0])
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """+ position embeddings (1, L, D), dropout, the blocks (``layers.encoder_layer_<i>``), a final LayerNorm.

    The table is a bare parameter ``pos_embedding`` of shape (1, L, D), not the course's
    ``LearnedPositionalEncoding`` (whose key is ``weight``, (L, D)): torchvision's checkpoints name it so."""

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int,
                 dropout: float, attention_dropout: float, eps: float = 1e-6):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim).normal_(std=0.02))   # BERT's init
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential(OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout, eps))
            for i in range(num_layers)))
        self.ln = nn.LayerNorm(hidden_dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (N, L, D) -> (N, L, D)
        return self.ln(self.layers(self.dropout(x + self.pos_embedding)))


class ViT(nn.Module):
    """ViT(ViTConfig(...)) == torchvision.models.VisionTransformer(**same arguments): same keys, same values."""

    def __init__(self, config: ViTConfig | None = None, **overrides):
        super().__init__()
        config = config or ViTConfig()
        self.config = c = config.replace(**overrides) if overrides else config
        self.image_size, self.patch_size, self.hidden_dim = c.image_size, c.patch_size, c.hidden_dim
        self.seq_length = c.seq_length
        self.conv_proj = nn.Conv2d(c.in_channels, c.hidden_dim, kernel_size=c.patch_size, stride=c.patch_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, c.hidden_dim))
        self.encoder = Encoder(c.seq_length, c.num_layers, c.num_heads, c.hidden_dim, c.mlp_dim, c.dropout,
                               c.attention_dropout, c.layer_norm_eps)
        heads: OrderedDict[str, nn.Module] = OrderedDict()
        if c.representation_size is not None:
            heads["pre_logits"] = nn.Linear(c.hidden_dim, c.representation_size)
            heads["act"] = nn.Tanh()
        heads["head"] = nn.Linear(c.representation_size or c.hidden_dim, c.num_classes)
        self.heads = nn.Sequential(heads)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """torchvision's choices: the patch projection LeCun-normal (truncated), the head zero (every class
        starts at logit 0, so the first loss is exactly log(num_classes))."""
        fan_in = self.conv_proj.in_channels * self.patch_size ** 2
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)
        if "pre_logits" in self.heads._modules:
            nn.init.trunc_normal_(self.heads.pre_logits.weight, std=math.sqrt(1 / self.hidden_dim))
            nn.init.zeros_(self.heads.pre_logits.bias)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def param_groups(self, weight_decay: float) -> list[dict]:
        """Optimizer groups: weight decay on the matrices only. Decaying the position table, the class token,
        LayerNorm gains and biases pulls them toward 0, which is no simpler a model (DeiT, nanoGPT do the same)."""
        decay = [p for n, p in self.named_parameters() if p.dim() >= 2 and n != "encoder.pos_embedding"]
        ids = {id(p) for p in decay}
        return [{"params": decay, "weight_decay": weight_decay},
                {"params": [p for p in self.parameters() if id(p) not in ids], "weight_decay": 0.0}]

    def embed_patches(self, x: torch.Tensor) -> torch.Tensor:     # (N, C, H, W) -> (N, HW/p^2, D)
        if x.dim() != 4 or x.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(f"ViT: expected images (N, {self.conv_proj.in_channels}, {self.image_size}, "
                             f"{self.image_size}), got {tuple(x.shape)}. The position table has one row per patch "
                             "of that size: resize the images, or build the model with image_size=...")
        if self.config.patch_embedding == "linear":               # the same weights as a matrix
            w = self.conv_proj.weight.flatten(1)                  # (D, C p^2)
            return patchify(x, self.patch_size) @ w.T + self.conv_proj.bias
        return self.conv_proj(x).flatten(2).transpose(1, 2)       # (N, D, H/p, W/p) -> (N, HW/p^2, D)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:            # (N, C, H, W) -> (N, 1 + HW/p^2, D)
        """The encoder's input without positions: [class token; patch embeddings]."""
        x = self.embed_patches(x)
        return torch.cat([self.class_token.expand(x.size(0), -1, -1), x], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:           # (N, C, H, W) -> (N, num_classes)
        h = self.encoder(self.tokens(x))                          # (N, L, D)
        return self.heads(h[:, 0])                                # the class token's state


# ----------------------------------------------------------------------------- attention rollout
def attention_rollout(attentions, head_fusion: str = "mean", residual: float = 0.5) -> torch.Tensor:
    """Abnar & Zuidema 2020: how much each input token flows into each output token, through all layers.

    attentions: one (N, H, L, L) tensor per layer, first layer first (rows: queries, summing to 1).
    Each layer's heads are fused (mean or max), mixed with the identity for the residual connection,
    A~ = (1 - residual) A + residual I, rows renormalised, and multiplied from the last layer down:
    R = A~_K ... A~_1, (N, L, L). R[n, 0, 1:] is how much each patch reaches the class token."""
    if head_fusion not in ("mean", "max"):
        raise ValueError(f"attention_rollout: head_fusion is 'mean' or 'max', not {head_fusion!r}.")
    if not len(attentions):
        raise ValueError("attention_rollout: no attention maps given (one (N, H, L, L) tensor per layer).")
    rollout = None
    for a in attentions:
        if a.dim() != 4 or a.size(-1) != a.size(-2):
            raise ValueError(f"attention_rollout: each layer's attention is (N, heads, L, L), got {tuple(a.shape)}.")
        a = a.mean(1) if head_fusion == "mean" else a.amax(1)                   # (N, L, L)
        a = (1 - residual) * a + residual * torch.eye(a.size(-1), dtype=a.dtype, device=a.device)
        a = a / a.sum(-1, keepdim=True)
        rollout = a if rollout is None else a @ rollout                         # the later layer on the left
    return rollout


@torch.no_grad()
def rollout_maps(model: ViT, images: torch.Tensor, **rollout_args) -> torch.Tensor:
    """(N, C, H, W) -> (N, H/p, W/p): the class token's rollout over the patches, each map summing to 1."""
    was_training = model.training
    model.eval()
    try:
        with capture_attention(model) as maps:
            model(images)
    finally:
        model.train(was_training)
    layers = [maps[f"encoder.layers.encoder_layer_{i}.self_attention"][-1] for i in range(len(model.encoder.layers))]
    cls = attention_rollout(layers, **rollout_args)[:, 0, 1:]                 # (N, HW/p^2)
    side = model.image_size // model.patch_size
    return (cls / cls.sum(-1, keepdim=True)).view(-1, side, side)


# ----------------------------------------------------------------------------- builders (Table 1)
def _build(patch_size: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int, small_input: bool,
           **overrides) -> ViT:
    """small_input: 32x32 images cut into patches a quarter as wide, so the token count (64 for /16,
    16 for /32) stays close to ImageNet's 196 and 49."""
    image_size = overrides.pop("image_size", 32 if small_input else 224)
    patch_size = patch_size // 4 if small_input else patch_size
    return ViT(ViTConfig(image_size=image_size, patch_size=patch_size, num_layers=num_layers, num_heads=num_heads,
                         hidden_dim=hidden_dim, mlp_dim=mlp_dim, **overrides))


def vit_b_16(num_classes: int = 1000, small_input: bool = False, **overrides) -> ViT:
    """ViT-Base/16: 12 layers, D 768, MLP 3072, 12 heads, 16x16 patches (86.6M parameters)."""
    return _build(16, 12, 12, 768, 3072, small_input, num_classes=num_classes, **overrides)


def vit_b_32(num_classes: int = 1000, small_input: bool = False, **overrides) -> ViT:
    """ViT-Base/32: ViT-B with 32x32 patches (88.2M: a longer patch vector, fewer positions)."""
    return _build(32, 12, 12, 768, 3072, small_input, num_classes=num_classes, **overrides)


def vit_l_16(num_classes: int = 1000, small_input: bool = False, **overrides) -> ViT:
    """ViT-Large/16: 24 layers, D 1024, MLP 4096, 16 heads (304.3M)."""
    return _build(16, 24, 16, 1024, 4096, small_input, num_classes=num_classes, **overrides)


def vit_l_32(num_classes: int = 1000, small_input: bool = False, **overrides) -> ViT:
    """ViT-Large/32 (306.5M)."""
    return _build(32, 24, 16, 1024, 4096, small_input, num_classes=num_classes, **overrides)


def vit_h_14(num_classes: int = 1000, small_input: bool = False, **overrides) -> ViT:
    """ViT-Huge/14: 32 layers, D 1280, MLP 5120, 16 heads (632.0M). No small_input: 14 / 4 is no patch size."""
    if small_input:
        raise ValueError("vit_h_14 has no small_input: 14 / 4 is no patch size; "
                         "build ViT(ViTConfig(image_size=32, patch_size=4, ...)).")
    return _build(14, 32, 16, 1280, 5120, False, num_classes=num_classes, **overrides)


def vit_cifar(num_classes: int = 10, num_layers: int = 6, hidden_dim: int = 96, num_heads: int = 3,
              mlp_dim: int = 192, patch_size: int = 4, **overrides) -> ViT:
    """A small ViT for 32x32 images: 64 patches of 4x4, 6 layers of width 96 (3 heads of 32), MLP 192;
    460,906 weights, as many as the CIFAR ResNet-32 (464,154), so chapter 14 compares like with like."""
    return ViT(ViTConfig(image_size=32, patch_size=patch_size, num_layers=num_layers, num_heads=num_heads,
                         hidden_dim=hidden_dim, mlp_dim=mlp_dim, num_classes=num_classes, **overrides))
