"""Where each data set would be read from on this machine (shown by 00_welcome)."""
from __future__ import annotations

from .sources import cache_dir, locate
from .text import TEXT_FILES
from .vision import CIFAR10_SOURCES, MNIST_FILES


def _where(resources) -> str:
    places = []
    for r in resources:
        path = locate(r)
        if path is None:
            return "missing (downloads on first use when online)"
        places.append("cache" if str(path).startswith(str(cache_dir())) else f"mirror {path.parents[len(r.relpath.split('/')) - 1]}")
    return ", ".join(sorted(set(places)))


def data_report() -> dict[str, str]:
    """{data set: where it is found}, without downloading anything."""
    cifar = next((r for r in CIFAR10_SOURCES if locate(r) is not None), None)
    report = {
        "MNIST": _where(MNIST_FILES.values()),
        "CIFAR-10": _where([cifar]) if cifar else "missing (downloads on first use when online)",
        "movie reviews": _where([TEXT_FILES["mr/pos"], TEXT_FILES["mr/neg"]]),
        "SST-2": _where([TEXT_FILES[f"sst2/{s}"] for s in ("train", "dev", "test")]),
        "TREC": _where([TEXT_FILES[f"trec/{s}"] for s in ("train", "test")]),
        "AG News (test)": _where([TEXT_FILES["ag_news/test"]]),
        "Tiny Shakespeare": _where([TEXT_FILES["tinyshakespeare"]]),
    }
    for name, module in (("digits, iris", "sklearn"), ("sunspots", "statsmodels")):
        try:
            __import__(module)
            report[name] = f"inside the {module} package"
        except ImportError:
            report[name] = f"missing: pip install {module}"
    return report
