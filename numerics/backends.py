"""Arithmetic backends for parameter-space GD: float64, mpmath, and python-flint arb balls.

A backend makes vectors from float64 draws (taken as exact binary numbers, so
every precision starts from the same point), and does the few vector
operations GD needs.  Precision is scoped: all arithmetic of a run happens
inside ``with backend.context():``, which restores the global precision.

* ``float64`` -- numpy; overflow gives inf/nan, which runs report as divergence.
* ``mpmath``  -- mpmath ``mpf`` (gmpy2 underneath) in numpy object arrays.
* ``arb``     -- python-flint ``arb_mat`` columns; fastest at high precision.
  By default the midpoints are kept after every vector update (plain
  ``dps``-digit floating point, like MPFR).  With ``certified=True`` the
  balls are kept, so every value carries a rigorous error bound -- but the
  componentwise bound of GD on n-vectors grows by a roughly constant factor
  per step (the dependency problem), so certified runs are for short horizons;
  a run stops with ``stop='precision'`` when its balls get too wide.

Examples
========
>>> b = get_backend("arb", dps=50, certified=True)
>>> with b.context():
...     x = b.vector([1.0, 2.0]); s = b.dot(x, x)
...     print(b.to_mpf(s), b.radius(s) == 0)
5.0 True
>>> get_backend("float64").dps
15
"""

from __future__ import annotations

import contextlib
import functools
import math

import mpmath
import numpy as np

from .errors import NumericsInputError


class Backend:
    """The arithmetic a GD run needs, at one precision; subclasses are the three backends.

    Vectors are column vectors, matrices 2-D; the defaults here are those of numpy arrays (of floats or of
    mpmath numbers), which :class:`Arb` overrides with python-flint ``arb_mat``.  Properties say what a
    backend is, so no caller switches on its name:

    * ``certified`` -- values are rigorous enclosures (balls kept through every step);
    * ``native``    -- hardware floats that overflow to inf/nan (float64);
    * ``tag``       -- a short label of the precision ("float64", "arb30", "mpmath50");
    * ``library``   -- the library whose functions evaluate its numbers ("numpy", "mpmath", "flint"), for
      compiling a symbolic loss (:mod:`catapult.verify.bridge`).

    >>> [(B.tag, B.certified, B.native) for B in (get_backend("float64"), get_backend("arb", 30, certified=True))]
    [('float64', False, True), ('arb30', True, False)]
    """

    name = "backend"
    dps = 15
    certified = False
    native = False
    balls = False   # values can carry error balls (``certified=True`` possible)
    library = "numpy"

    def __init__(self, dps=50, certified=False):
        if certified and not self.balls:
            raise NumericsInputError(f"the {self.name} backend has no error balls: certified runs need arb")
        self.dps = int(dps)
        self.bits = mpmath.libmp.dps_to_prec(self.dps)
        self.certified = bool(certified)

    @property
    def tag(self) -> str:
        """A short label of the backend and its precision, e.g. 'arb50' (float64: 'float64')."""
        return self.name if self.native else f"{self.name}{self.dps}"

    def context(self):
        """A context inside which all arithmetic of a run happens (restores the global precision)."""
        raise NotImplementedError

    def vector(self, xs):
        raise NotImplementedError

    def matrix(self, rows):
        """A backend matrix from a 2-D float64 array (entries taken as exact binary numbers).

        >>> B = get_backend("mpmath", 30)
        >>> W = B.matrix([[1.0, 2.0], [3.0, 4.0]]); x = B.vector([1.0, 1.0])
        >>> [float(v) for v in B.matvec(W, x)], [float(v) for v in B.matvec(W, x, transpose=True)]
        ([3.0, 7.0], [4.0, 6.0])
        """
        rows = np.asarray(rows, dtype=float)
        return np.array([[self.scalar(float(x)) for x in r] for r in rows], dtype=object)

    def matvec(self, W, x, transpose=False):
        """W x (or W^T x) for a backend matrix and a column vector."""
        return (W.T if transpose else W).dot(x)

    def outer(self, a, b):
        """The outer product a b^T of two backend column vectors.

        >>> B = get_backend("float64"); B.outer(B.vector([1.0, 2.0]), B.vector([3.0, 4.0])).tolist()
        [[3.0, 4.0], [6.0, 8.0]]
        """
        return np.outer(a, b)

    def lincomb(self, a, s, b):
        """a - s*b"""
        return a - s * b

    def to_mpf(self, x):
        """The value (a ball's midpoint) as an exact mpmath number."""
        return mpmath.mpf(x)

    def radius(self, x):
        """The radius of a value's error ball (0 unless certified)."""
        return mpmath.mpf(0)


@functools.lru_cache(maxsize=1)
def _single_thread_ddot_max():
    """The longest vector whose BLAS ``ddot`` runs on one thread whatever the thread count: 10000 under OpenBLAS
    on x86_64 (measured, see :meth:`Float64.dot`), 0 (never BLAS) under any other BLAS or machine."""
    import platform
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return 0
    try:
        from threadpoolctl import threadpool_info
        apis = {d.get("internal_api") for d in threadpool_info() if d.get("user_api") == "blas"}
    except Exception:   # threadpoolctl missing or failing: trust no BLAS
        return 0
    return 10000 if apis == {"openblas"} else 0


class Float64(Backend):
    """IEEE double precision with numpy."""

    name = "float64"
    dps = 15
    bits = 53
    native = True

    def __init__(self):
        pass

    def __repr__(self):
        return "Float64()"

    @contextlib.contextmanager
    def context(self):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            yield self

    def vector(self, xs):
        return np.asarray(xs, dtype=np.float64).copy()

    def matrix(self, rows):
        return np.asarray(rows, dtype=np.float64).copy()

    def scalar(self, x):
        return float(mpmath.mpf(x)) if isinstance(x, str) else float(x)

    def dot(self, a, b):
        """a . b by BLAS ``ddot`` where it is known to run on one thread (OpenBLAS, n <= 10000: 1.5 us against
        einsum's 4.3 us at n = 4096), else by numpy's own loop (``einsum``).  The result must not depend on the
        thread count, or a run would differ between a Dask worker (1 thread) and this process: OpenBLAS splits
        ``ddot`` over its threads above n = 10000 (measured with OpenBLAS 0.3.31: 0 of 200 random pairs differ
        between 1 and 2 threads at n = 10000, 193 of 200 at n = 10001), and other BLAS libraries are not trusted.
        (Across machines float64 sums may round differently anyway: both BLAS and numpy's loop pick SIMD kernels
        by CPU; results are the same on one machine whatever its thread count.)

        >>> Float64().dot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
        11.0
        """
        if a.shape[0] <= _single_thread_ddot_max():
            return float(np.dot(a, b))
        return float(np.einsum("i,i->", a, b))

    def sqrt(self, x):
        return math.sqrt(x)

    def is_finite(self, x):
        return math.isfinite(x)

    def radius(self, x):
        return 0.0


class MPMath(Backend):
    """mpmath ``mpf`` numbers at ``dps`` digits in numpy object arrays."""

    name = "mpmath"
    library = "mpmath"

    def __repr__(self):
        return f"MPMath(dps={self.dps})"

    def context(self):
        return mpmath.workdps(self.dps)

    def vector(self, xs):
        return np.array([mpmath.mpf(float(x)) for x in xs], dtype=object)

    def scalar(self, x):
        return mpmath.mpf(x)

    def dot(self, a, b):
        return mpmath.fdot(a, b)

    def sqrt(self, x):
        return mpmath.sqrt(x)

    def is_finite(self, x):
        return mpmath.isfinite(x)


class Arb(Backend):
    """Ball arithmetic (python-flint ``arb``) at ``dps`` digits; values are certified enclosures."""

    name = "arb"
    balls = True
    library = "flint"

    def __init__(self, dps=50, certified=False):
        super().__init__(dps, certified)
        import flint
        self._flint = flint

    def __repr__(self):
        return f"Arb(dps={self.dps}{', certified=True' if self.certified else ''})"

    @contextlib.contextmanager
    def context(self):
        ctx = self._flint.ctx
        old = ctx.prec
        ctx.prec = self.bits
        try:
            with mpmath.workprec(self.bits):
                yield self
        finally:
            ctx.prec = old

    def vector(self, xs):
        arb = self._flint.arb
        return self._flint.arb_mat(len(xs), 1, [arb(float(x)) for x in xs])

    def matrix(self, rows):
        rows = np.asarray(rows, dtype=float)
        arb = self._flint.arb
        return self._flint.arb_mat(rows.shape[0], rows.shape[1], [arb(float(x)) for x in rows.ravel()])

    def matvec(self, W, x, transpose=False):
        return (W.transpose() if transpose else W) * x

    def outer(self, a, b):
        return a * b.transpose()

    def scalar(self, x):
        if isinstance(x, self._flint.arb):
            return x
        if isinstance(x, mpmath.mpf):
            sign, man, exp, _ = x._mpf_  # man_exp drops the sign
            if not man and exp:  # inf / nan
                return self._flint.arb("nan") if x != x else self._flint.arb("inf") * (1 if x > 0 else -1)
            return self._flint.arb(((-1) ** sign * int(man), int(exp)))
        return self._flint.arb(x if not isinstance(x, float) else float(x))

    def dot(self, a, b):
        return (a.transpose() * b)[0, 0]

    def lincomb(self, a, s, b):
        out = a - b * s
        return out if self.certified else out.mid()

    def sqrt(self, x):
        return self._flint.arb(x).sqrt()

    def is_finite(self, x):
        return x.is_finite()

    def to_mpf(self, x):
        """The ball's midpoint as an exact mpmath number (nan/inf when the ball is not finite)."""
        if not x.mid().is_finite():
            m = x.mid()
            return mpmath.nan if m.is_nan() else (mpmath.inf if m > 0 else -mpmath.inf)
        man, exp = x.mid().man_exp()
        return mpmath.mpf((int(man), int(exp))) if man != 0 else mpmath.mpf(0)

    def radius(self, x):
        man, exp = x.rad().mid().man_exp()
        return mpmath.mpf((int(man), int(exp))) if man != 0 else mpmath.mpf(0)


BACKENDS = {"float64": Float64, "mpmath": MPMath, "arb": Arb, "fixed": None}  # fixed: loaded on first use


def _backend_class(name):
    if BACKENDS[name] is None:
        from .fixed import Fixed  # numba is an optional extra: imported only when asked for
        BACKENDS[name] = Fixed
    return BACKENDS[name]


def get_backend(name="arb", dps=50, certified=False):
    """A backend by name: ``"float64"``, ``"mpmath"``, ``"arb"`` or ``"fixed"`` (with ``dps`` digits; fixed:
    :mod:`catapult.numerics.fixed`, needs the ``fast`` extra).

    >>> get_backend("mpmath", 30)
    MPMath(dps=30)
    >>> get_backend("quad")
    Traceback (most recent call last):
    ...
    catapult.numerics.errors.NumericsInputError: unknown backend 'quad'; known: arb, fixed, float64, mpmath
    >>> get_backend("mpmath", 30, certified=True)
    Traceback (most recent call last):
    ...
    catapult.numerics.errors.NumericsInputError: the mpmath backend has no error balls: certified runs need arb
    """
    if name not in BACKENDS:
        raise NumericsInputError(f"unknown backend {name!r}; known: {', '.join(sorted(BACKENDS))}")
    cls = _backend_class(name)
    if cls.native:
        return cls()
    if int(dps) < 5:
        raise NumericsInputError(f"precision must be at least 5 digits, got {dps}")
    return cls(dps, certified)


def engine_for(dps, model=None):
    """The fastest backend at ``dps`` digits that carries ``model``'s runs: the fixed-point engine
    (:mod:`catapult.numerics.fixed`: 7-9x faster than arb per step for the uv model at n >= 1024, 19-25x for deep
    linear networks at n = 256) when ``dps`` <= 50, numba is installed (the ``fast`` extra) and the model's
    parameters (vectors and matrices) lie in its range; else arb.

    >>> from catapult.numerics.models import UVModel
    >>> from catapult.numerics.deep import DeepLinearModel
    >>> engine_for(50, UVModel(64, 0)).tag, engine_for(60, UVModel(64, 0)).tag, engine_for(30, DeepLinearModel(4, 3)).tag
    ('fixed50', 'arb60', 'fixed30')
    """
    from .errors import MissingExtraError
    from .fixed import MAX_DPS
    if model is not None and int(dps) <= MAX_DPS:
        try:
            B = get_backend("fixed", dps)
            with B.context():
                model.init(B)   # refuses entries outside the fixed range
            return B
        except (MissingExtraError, NumericsInputError):
            pass
    return get_backend("arb", dps)
