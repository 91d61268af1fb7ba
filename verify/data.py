"""Seeded data sets whose entries are exact in float64 (dyadic), for the many-sample uv model.

>>> X, Y = random_data(3, 2, seed=1)
>>> X.shape, Y.shape, bool((X * 8 == (X * 8).round()).all())
((3, 2), (3,), True)
"""

import numpy as np


def random_data(m, d, seed, spread=None):
    """Dyadic data (exact in float64): X (m x d) and labels Y.  ``spread`` scales row a by spread**a."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-8, 9, size=(m, d)) / 8.0
    while np.linalg.matrix_rank(X) < min(m, d) or not np.all(np.any(X != 0, axis=1)):  # full rank, no zero row
        X = rng.integers(-8, 9, size=(m, d)) / 8.0
    if spread is not None:
        X = X * (spread ** np.arange(m))[:, None]
    Y = rng.integers(-4, 5, size=m) / 4.0
    return X, Y
