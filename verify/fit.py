"""Least-squares fits of measured scalings (slopes in log n and the like), with standard errors.

>>> import numpy as np
>>> X = np.c_[np.ones(5), np.arange(5.0)]
>>> coef, se = fit(X, 2 + 3 * np.arange(5.0))
>>> [round(float(c), 12) for c in coef], float(se[1]) < 1e-12
([2.0, 3.0], True)
"""

import numpy as np


def fit(X, Y):
    """Ordinary least squares ``Y ~ X coef``: ``(coef, standard errors)`` from the residual variance (one degree
    of freedom at least, so an exactly determined fit reports zero error rather than dividing by zero)."""
    X, Y = np.asarray(X, float), np.asarray(Y, float)
    coef, *_ = np.linalg.lstsq(X, Y, rcond=None)
    resid = Y - X @ coef
    dof = max(1, len(Y) - X.shape[1])
    cov = (resid @ resid / dof) * np.linalg.inv(X.T @ X)
    return coef, np.sqrt(np.diag(cov))
