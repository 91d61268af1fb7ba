"""Seeded data sets whose entries are exact in float64 (dyadic), for the many-sample uv model.

>>> X, Y = random_data(3, 2, seed=1)
>>> X.shape, Y.shape, bool((X * 8 == (X * 8).round()).all())
((3, 2), (3,), True)
"""

import numpy as np

#: largest data file read (bytes), largest number of rows, largest |entry| (limits named in the messages)
MAX_DATA_BYTES = 10 ** 7
MAX_DATA_ROWS = 2000
MAX_ABS_VALUE = 10 ** 6


class DataError(ValueError):
    """A data file that is not a real, finite table within the limits (one line, naming the file)."""


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


def read_table(path, name="--data"):
    r"""A real, finite float64 table (rows x columns) from a CSV/whitespace text file or a .npy array.
    (Over 60 lines only with this docstring and its examples: the body is 50 lines.)

    Reads at most MAX_DATA_BYTES bytes and MAX_DATA_ROWS rows (a device such as /dev/zero is refused,
    not read to exhaustion); complex, string or object entries are refused, never coerced.  Every refusal is a
    :class:`DataError` naming the file (and the limit, where one is hit).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> _ = open(path, "w").write("# x1, y\n0.5, 1\n-1, 0\n")
    >>> read_table(path).tolist()
    [[0.5, 1.0], [-1.0, 0.0]]
    >>> _ = open(path, "w").write("1, nan\n")
    >>> read_table(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    catapult.verify.data.DataError: --data ... contains nan or inf
    """
    import io
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_DATA_BYTES + 1)
    except OSError as exc:
        raise DataError(f"cannot read {name} {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_DATA_BYTES:
        raise DataError(f"{name} {path} is larger than {MAX_DATA_BYTES} bytes (limit MAX_DATA_BYTES)")
    if str(path).endswith(".npy"):
        try:
            a = np.load(io.BytesIO(raw), allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise DataError(f"cannot read {name} {path}: {str(exc).splitlines()[0] if str(exc) else 'not a .npy'}") from None
        if not isinstance(a, np.ndarray) or a.dtype.kind not in "iuf":
            kind = {"c": "complex", "U": "string", "S": "string", "O": "object", "b": "boolean"}.get(
                getattr(getattr(a, "dtype", None), "kind", "?"), str(getattr(a, "dtype", type(a).__name__)))
            raise DataError(f"{name} {path}: entries must be real numbers, got {kind} entries")
        a = a.astype(float)
        if a.ndim == 1:
            a = a[None, :]
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{name} {path}: not a text table (CSV/whitespace) or a .npy file") from None
        rows = []
        for k, line in enumerate(text.splitlines()):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                rows.append([float(x) for x in line.replace(",", " ").split()])
            except ValueError:
                raise DataError(f"{name} {path}, line {k + 1}: entries must be real numbers, got {line.strip()[:40]!r}") from None
            if len(rows) > MAX_DATA_ROWS:
                break
        if not rows:
            raise DataError(f"{name} {path} has no rows")
        if len({len(r) for r in rows}) != 1:
            raise DataError(f"{name} {path}: rows have different numbers of columns")
        a = np.array(rows, dtype=float)
    if a.ndim != 2 or a.size == 0:
        raise DataError(f"{name} {path} must be a table (rows x columns), got shape {a.shape}")
    if a.shape[0] > MAX_DATA_ROWS:
        raise DataError(f"{name} {path} has more than {MAX_DATA_ROWS} rows (limit MAX_DATA_ROWS)")
    if not np.all(np.isfinite(a)):
        raise DataError(f"{name} {path} contains nan or inf")
    if np.max(np.abs(a)) > MAX_ABS_VALUE:
        raise DataError(f"{name} {path}: entries must have magnitude <= {MAX_ABS_VALUE} "
                         f"(limit MAX_ABS_VALUE), got {np.max(np.abs(a)):g}")
    return a
