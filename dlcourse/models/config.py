"""Configs and checkpoint key maps, for the families that have no torch module to mirror.

A family whose keys follow a torch or torchvision module (ResNet, nn.Transformer) loads that
module's weights by a plain ``load_state_dict``. GPT, BERT, T5, ViT and the diffusion U-Net are
written here from the papers, so two things are needed to load real weights:

``ModelConfig``, nanoGPT's ``GPTConfig`` shape: a dataclass of the hyper-parameters that the
model's ``__init__`` takes whole (``GPT(GPTConfig(n_layer=6))``), checked when built, printed in
one line, saved as JSON next to a checkpoint. ``PRETRAINED_FIELDS`` maps each of our fields to
the name the reference library's config gives it (``block_size`` is GPT-2's ``n_positions``), so
``GPTConfig.from_pretrained_config(hf_config)`` reads a real ``config.json``.

``KeyMap``: how a reference checkpoint's keys become ours, written as data, in the order a
reader checks them: renames (regular expressions), tensors stored transposed (GPT-2's ``Conv1D``
keeps (in, out) where ``nn.Linear`` keeps (out, in)), and keys that are not weights (GPT-2's
cached causal mask). ``keymap.load(model, their_state)`` is then the documented key copy, strict:
a key missing, left over or of another shape is an error that lists them.

    @dataclass
    class GPTConfig(ModelConfig):
        block_size: int = 1024
        n_layer: int = 12
        PRETRAINED_FIELDS = {"block_size": "n_positions"}      # others: the same name

    GPT2_KEYS = KeyMap(rename=[(r"^transformer\\.", "")],
                       transpose=[r"attn\\.c_attn\\.weight$", r"mlp\\.c_fc\\.weight$", ...],
                       ignore=[r"\\.attn\\.(masked_)?bias$"])
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import torch
from torch import nn

__all__ = ["ModelConfig", "KeyMap", "KeyMapError"]


@dataclass
class ModelConfig:
    """Base of a family's config: subclass it as a ``@dataclass`` with defaults, override ``validate``."""

    PRETRAINED_FIELDS: ClassVar[Mapping[str, str]] = {}   # our field -> the reference config's name for it

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the field and the fix (e.g. n_embd not divisible by n_head)."""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]):
        """A config from a plain dict; a key that is not a field is an error (a typo would be silent)."""
        unknown = [k for k in values if k not in cls.field_names()]
        if unknown:
            hints = [f"{k!r} (did you mean {', '.join(map(repr, close))}?)" if close else repr(k)
                     for k in unknown for close in [difflib.get_close_matches(k, cls.field_names(), n=2)]]
            raise TypeError(f"{cls.__name__} has no field {', '.join(hints)}; its fields: {cls.field_names()}.")
        return cls(**values)

    @classmethod
    def from_pretrained_config(cls, reference, **overrides):
        """Our config from a reference library's (a ``transformers`` config object or its
        ``config.json`` as a dict): each field read under its ``PRETRAINED_FIELDS`` name, or its
        own; fields the reference lacks keep our default; ``overrides`` win."""
        get = reference.get if isinstance(reference, Mapping) else (lambda k, d=None: getattr(reference, k, d))
        missing = object()
        values = {}
        for name in cls.field_names():
            value = get(cls.PRETRAINED_FIELDS.get(name, name), missing)
            if value is not missing:
                values[name] = value
        return cls(**{**values, **overrides})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes):
        """A copy with ``changes``, validated again (dataclasses.replace, with from_dict's check)."""
        return type(self).from_dict({**self.to_dict(), **changes})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path):
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


class KeyMapError(KeyError):
    """A checkpoint that does not fit the model: its message lists what is missing, extra or misshapen."""

    def __str__(self) -> str:     # KeyError's own str() quotes the message as a repr
        return str(self.args[0])


@dataclass(frozen=True)
class KeyMap:
    """Reference checkpoint keys -> ours: ``rename`` (pattern, replacement) applied in order,
    ``transpose`` patterns of *our* keys whose tensors are stored transposed, ``ignore`` patterns
    of *their* keys that are not weights."""

    rename: Sequence[tuple[str, str]] = ()
    transpose: Sequence[str] = ()
    ignore: Sequence[str] = ()
    _compiled: tuple = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", ([(re.compile(p), r) for p, r in self.rename],
                                               [re.compile(p) for p in self.transpose],
                                               [re.compile(p) for p in self.ignore]))

    def our_key(self, their_key: str) -> str:
        for pattern, replacement in self._compiled[0]:
            their_key = pattern.sub(replacement, their_key)
        return their_key

    def transposed(self, our_key: str) -> bool:
        """Whether the tensor under ``our_key`` is stored transposed in the reference checkpoint."""
        return any(p.search(our_key) for p in self._compiled[1])

    def convert(self, their_state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Their state dict under our keys (transposed where stated), ignored keys dropped."""
        ignores = self._compiled[2]
        ours: dict[str, torch.Tensor] = {}
        for key, value in their_state.items():
            if any(p.search(key) for p in ignores):
                continue
            new = self.our_key(key)
            if new in ours:
                raise KeyMapError(f"two checkpoint keys map to {new!r}: check the rename rules {list(self.rename)}.")
            ours[new] = value.t() if self.transposed(new) else value
        return ours

    def load(self, model: nn.Module, their_state: Mapping[str, torch.Tensor]) -> nn.Module:
        """Copy a reference checkpoint into ``model``: every key of both sides accounted for, every shape
        equal, or a KeyMapError listing the differences (so a wrong rule never loads half a model)."""
        state = self.convert(their_state)
        expected = model.state_dict()
        missing = [k for k in expected if k not in state]
        extra = [k for k in state if k not in expected]
        shapes = [f"{k}: ours {tuple(expected[k].shape)}, theirs {tuple(state[k].shape)}"
                  for k in expected if k in state and expected[k].shape != state[k].shape]
        if missing or extra or shapes:
            def listing(what, keys):
                return f"\n  {what} ({len(keys)}): " + ", ".join(keys[:6]) + (" ..." if len(keys) > 6 else "")
            raise KeyMapError(f"the checkpoint does not fit {type(model).__name__}:"
                              + (listing("missing from the checkpoint", missing) if missing else "")
                              + (listing("in the checkpoint, not in the model (add a rename or ignore rule)", extra)
                                 if extra else "")
                              + (listing("other shape (a transpose rule?)", shapes) if shapes else ""))
        model.load_state_dict(state, strict=True)
        return model
