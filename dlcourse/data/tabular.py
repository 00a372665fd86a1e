"""Small real data sets that ship inside PyPI packages: nothing to download or mirror."""
from __future__ import annotations

import numpy as np

__all__ = ["load_digits", "load_iris", "load_sunspots"]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """1,797 real 8x8 handwritten digits from scikit-learn: X (N, 64) float32 in [0, 16], y int64."""
    from sklearn import datasets
    d = datasets.load_digits()
    return d.data.astype(np.float32), d.target.astype(np.int64)


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris (150 flowers, 4 measurements, 3 species) from scikit-learn."""
    from sklearn import datasets
    d = datasets.load_iris()
    return d.data.astype(np.float32), d.target.astype(np.int64)


def load_sunspots() -> tuple[np.ndarray, np.ndarray]:
    """Yearly mean sunspot numbers 1700-2008 from statsmodels: (years int64, values float32)."""
    from statsmodels.api import datasets
    df = datasets.sunspots.load_pandas().data
    return df["YEAR"].to_numpy().astype(np.int64), df["SUNACTIVITY"].to_numpy().astype(np.float32)
