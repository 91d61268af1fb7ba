"""Real data for networks: scikit-learn's bundled digits (no download) or a user's arrays, as binary tasks.

Tasks on digits (1797 8x8 images, d = 64): ``even-odd`` (y = +1 for an even digit, -1 for odd) and a pair
``A,B`` (y = +1 for digit A, -1 for digit B).  User arrays: a ``.npz`` with arrays ``X`` (m x d) and ``y``, or a
CSV / whitespace table / ``.npy`` read by :func:`catapult.verify.data.read_table` (its limits) whose last column is
the label; the labels must take exactly two values (the smaller becomes -1, the larger +1).

Preprocessing, recorded in :attr:`Dataset.meta`: a seeded split (a permutation of the task's samples by
``numpy.random.default_rng(split_seed)``: the first ``m`` train, the next ``test`` test), every feature standardised
with the *training* mean and standard deviation (constant features set to 0), then every input normalised to
|x| = sqrt(d) (``norm="sqrt-d"``: entries O(1), the scale the NTK parametrisation's 1/sqrt(d) expects) or |x| = 1
(``norm="unit"``).  Optional training-label noise (``label_noise`` = q): exactly round(q m) training labels,
chosen by ``numpy.random.default_rng(noise_seed).choice(m, k, replace=False)``, are flipped (the test labels are
kept clean); the fraction, the count and the seed are in ``meta``.

>>> ds = load_task("digits", "even-odd", m=64, test=32)
>>> ds.X.shape, ds.X_test.shape, sorted(set(ds.y.tolist())), bool(np.allclose(np.linalg.norm(ds.X, axis=1), 8.0))
((64, 64), (32, 64), [-1.0, 1.0], True)
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import numpy as np

from .data import MAX_DATA_BYTES, MAX_DATA_ROWS, DataError, read_table

NORMS = ("sqrt-d", "unit")
#: largest test set (samples)
MAX_TEST = 2000


@dataclass
class Dataset:
    """A binary task: train (X, y) and test (X_test, y_test) with labels +-1, and how they were made (``meta``)."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    meta: dict = field(default_factory=dict)


def digits_task(task: str):
    """The digits images (as float) and +-1 labels of a task, with the labels' description.

    >>> X, y, what = digits_task("3,5"); X.shape[1], what
    (64, '+1: digit 3, -1: digit 5')
    >>> digits_task("odd")
    Traceback (most recent call last):
    ...
    catapult.verify.data.DataError: --task 'odd': give even-odd or a digit pair A,B (e.g. 3,5)
    """
    from sklearn.datasets import load_digits
    d = load_digits()
    X, t = d.data.astype(float), d.target
    if task == "even-odd":
        return X, np.where(t % 2 == 0, 1.0, -1.0), "+1: even digit, -1: odd digit"
    mt = re.fullmatch(r"([0-9])\s*[,v]\s*([0-9])", str(task))
    if not mt or mt.group(1) == mt.group(2):
        raise DataError(f"--task {task!r}: give even-odd or a digit pair A,B (e.g. 3,5)")
    a, b = int(mt.group(1)), int(mt.group(2))
    keep = (t == a) | (t == b)
    return X[keep], np.where(t[keep] == a, 1.0, -1.0), f"+1: digit {a}, -1: digit {b}"


def user_arrays(path):
    """(X, y, description) from a .npz (arrays X, y) or a table whose last column is the label."""
    if str(path).endswith(".npz"):
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_DATA_BYTES + 1)
            if len(raw) > MAX_DATA_BYTES:
                raise DataError(f"--data {path} is larger than {MAX_DATA_BYTES} bytes (limit MAX_DATA_BYTES)")
            z = np.load(io.BytesIO(raw), allow_pickle=False)
            X, y = np.asarray(z["X"]), np.asarray(z["y"])
        except DataError:
            raise
        except (OSError, ValueError, KeyError, EOFError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataError(f"cannot read --data {path} (a .npz with arrays X and y): {msg}") from None
        if X.dtype.kind not in "iuf" or y.dtype.kind not in "iuf" or X.ndim != 2 or y.shape != (X.shape[0],):
            raise DataError(f"--data {path}: X must be a real m x d array and y a real array of length m")
        if X.shape[0] > MAX_DATA_ROWS or not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise DataError(f"--data {path}: at most {MAX_DATA_ROWS} rows (limit MAX_DATA_ROWS), finite entries")
        X, y = X.astype(float), y.astype(float)
    else:
        a = read_table(path)
        if a.shape[1] < 2:
            raise DataError(f"--data {path}: needs input columns and a last label column")
        X, y = a[:, :-1], a[:, -1]
    vals = np.unique(y)
    if vals.size != 2:
        raise DataError(f"--data {path}: the labels must take exactly two values, got {vals.size}")
    return X, np.where(y == vals[1], 1.0, -1.0), f"+1: label {vals[1]:g}, -1: label {vals[0]:g}"


def preprocess(X, X_test, norm="sqrt-d"):
    """Standardise with the training statistics, then normalise each row (see the module docstring).

    >>> A, B = preprocess(np.array([[0.0, 1.0], [2.0, 1.0]]), np.array([[1.0, 5.0]]))
    >>> A.tolist(), B.tolist()
    ([[-1.4142135623730951, 0.0], [1.4142135623730951, 0.0]], [[0.0, 0.0]])
    """
    if norm not in NORMS:
        raise DataError(f"--norm {norm!r}: give one of {', '.join(NORMS)}")
    mu, sd = X.mean(axis=0), X.std(axis=0)
    ok = sd > 0
    scale = np.where(ok, sd, 1.0)
    A, B = [np.where(ok, (Z - mu) / scale, 0.0) for Z in (X, X_test)]
    target = np.sqrt(X.shape[1]) if norm == "sqrt-d" else 1.0
    return tuple(_rows(Z, target) for Z in (A, B))


def _rows(Z, target):
    r = np.linalg.norm(Z, axis=1, keepdims=True)
    return np.where(r > 0, Z * target / np.where(r > 0, r, 1.0), 0.0)


def load_task(data="digits", task="even-odd", *, m=256, test=None, split_seed=0, norm="sqrt-d", label_noise=0.0,
              noise_seed=0) -> Dataset:
    """The task's seeded split, preprocessed (see the module docstring); ``test`` defaults to every sample not in
    training (at most :data:`MAX_TEST`); ``label_noise``: the fraction of training labels flipped.

    >>> ds = load_task("digits", "0,1", m=100, label_noise=0.1, noise_seed=3)
    >>> ds.meta["flipped_train_labels"], int(np.sum(ds.y != load_task("digits", "0,1", m=100).y))
    (10, 10)

    >>> load_task("digits", "0,1", m=10 ** 4)     # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    catapult.verify.data.DataError: --m 10000: the task has 360 samples; give 1 <= m < 360
    """
    if data == "digits":
        X, y, labels = digits_task(task)
    else:
        X, y, labels = user_arrays(data)
        task = "user"
    if not isinstance(m, (int, np.integer)) or not 1 <= m < len(y):
        raise DataError(f"--m {m}: the task has {len(y)} samples; give 1 <= m < {len(y)}")
    perm = np.random.default_rng(split_seed).permutation(len(y))
    rest = len(y) - m
    k = min(rest, MAX_TEST) if test is None else int(test)
    if not 1 <= k <= rest:
        raise DataError(f"--test {test}: give 1 <= test <= {rest} (the samples not in training)")
    if not (isinstance(label_noise, (int, float)) and 0 <= label_noise <= 0.5):
        raise DataError(f"--label-noise {label_noise!r}: give a fraction in [0, 0.5]")
    tr, te = perm[:m], perm[m:m + k]
    A, B = preprocess(X[tr], X[te], norm)
    y_tr = y[tr].copy()
    flip = int(round(label_noise * m))
    if flip:
        y_tr[np.random.default_rng(noise_seed).choice(m, flip, replace=False)] *= -1
    meta = {"data": str(data), "task": task, "labels": labels, "m_train": int(m), "m_test": int(k),
            "d": int(X.shape[1]), "split": f"numpy default_rng({split_seed}).permutation: first m train, next test",
            "split_seed": int(split_seed),
            "standardise": "per feature, training mean and std (constant features -> 0)",
            "normalise": "|x| = sqrt(d)" if norm == "sqrt-d" else "|x| = 1",
            "train_positive_fraction": float(np.mean(y_tr > 0)),
            "label_noise": float(label_noise), "flipped_train_labels": flip,
            "noise": (f"{flip} training labels flipped: numpy default_rng({noise_seed}).choice(m, {flip}, "
                      "replace=False); test labels clean") if flip else "none",
            "noise_seed": int(noise_seed)}
    return Dataset(A, y_tr, B, y[te], meta)
