"""Reference models, one module per family (the README's chapter map says which chapter builds which).

Each family module lists its public names in ``__all__``, and that list is the registry: this
package reads the lists (statically, without importing anything) and imports a family on first
use, so ``dlcourse.models.ResNet`` loads ``dlcourse.models.resnet`` and nothing else. A new
chapter adds its module and edits nothing here, so chapters written side by side do not collide
in this file.

A name that is also a module's name means the module: ``dlcourse.models.googlenet`` is the
GoogLeNet family, its builder ``dlcourse.models.googlenet.googlenet()``. A name re-exported by
several families (``SqueezeExcitation``, from ``blocks``) resolves to the module that defines it;
two families defining the same name is an error, caught by ``tests/test_models_registry.py``.
"""
from __future__ import annotations

import ast
import difflib
import importlib
import pkgutil
from pathlib import Path

_HERE = Path(__file__).parent


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a module defines itself (classes, functions, assignments), not ones it imports."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _exports(module: str) -> tuple[list[str], set[str]]:
    """(``__all__``, names defined there) of one family module, read from its source."""
    tree = ast.parse((_HERE / f"{module}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value)), _top_level_names(tree)
    return [], _top_level_names(tree)


MODULES = tuple(sorted(m.name for m in pkgutil.iter_modules([str(_HERE)]) if not m.name.startswith("_")))


def _build_index() -> dict[str, str]:
    """public name -> the family module that defines it."""
    index: dict[str, str] = {}
    exporters: dict[str, list[str]] = {}
    for family in MODULES:
        exported, defined = _exports(family)
        for name in exported:
            if name in MODULES:
                continue                                   # the module wins (see the docstring)
            exporters.setdefault(name, []).append(family)
            if name in defined:
                if name in index and index[name] != family:
                    raise ImportError(f"dlcourse.models: {name!r} is defined in both {index[name]!r} and "
                                      f"{family!r}; rename one, or import it from the other.")
                index[name] = family
    for name, modules in exporters.items():               # only re-exported: the first exporter's object
        index.setdefault(name, modules[0])
    return index


_INDEX = _build_index()
__all__ = sorted(_INDEX)


def __getattr__(name: str):
    if name in MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _INDEX:
        value = getattr(importlib.import_module(f"{__name__}.{_INDEX[name]}"), name)
        globals()[name] = value                            # found once, then an ordinary attribute
        return value
    close = difflib.get_close_matches(name, list(_INDEX) + list(MODULES), n=3)
    raise AttributeError(f"module 'dlcourse.models' has no attribute {name!r}"
                         + (f"; did you mean {', '.join(close)}?" if close else ""))


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_INDEX) | set(MODULES))
