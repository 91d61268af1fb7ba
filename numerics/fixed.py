"""A 50-digit fixed-point backend compiled with numba: a uv parameter-GD step ~12-14x a bare numpy float64 step (n = 4096).

Vectors and matrices are fixed-point numbers on the grid 2^-180 (seven 30-bit limbs,
:mod:`catapult.numerics.fixed_kernels`; a deep linear network's full-width step is 5-17x a bare numpy step at
n = 64..1024, L = 4 and 7, measured by ``benchmarks/bench_step.py``),
scalars are mpmath numbers at the run's precision (``dps <= 50``: 170 bits; the 180-bit grid keeps >= 10 guard
bits for entries of magnitude >= 1).  What is proven about each operation (the kernels' docstring has the bounds):

* range: every entry x satisfies -2^30 <= x < 2^30 (about 1.07e9).  A float64 input outside it is refused
  (:class:`~catapult.numerics.errors.NumericsInputError`); an operation whose result leaves it raises
  :class:`~catapult.numerics.errors.FixedRangeError` (an ``OverflowError``: a run stops with ``nonfinite``, as a
  float64 run does at 1.8e308) -- never a wrapped value.  A scalar factor must satisfy |s| < 2^30 (else the same).
* ``dot``: exact for the stored vectors (integer column sums), then ONE rounding to the context precision.
* ``a + b``, ``a - b``: exact.  ``s * b`` and ``lincomb(a, s, b)`` = a - s b: s is rounded to the grid (error
  <= 2^-181), the result to nearest on the grid: |error| <= 2^-181 (1 + |b|) (1 + 2^-27) per entry.
* ``matvec(W, x)`` and ``matvec(W, x, transpose=True)``: every entry's sum exact, then ONE rounding to nearest on
  the grid (|error| <= 2^-181).
* ``lincomb(W, s, outer(a, b))`` = W - s a b^T (a matrix's GD move, never formed): s a is rounded to the grid
  first, then each row is one ``lincomb``: |error| <= 2^-181 (1 + 2^-27) ((1 + |a_i|) |b_j| + 1 + |b_j|).
* float64 inputs are exact (every double with |x| >= 2^-127 lies on the grid).

numba is an optional extra (``pip install 'catapult[fast]'``): without it :func:`get_backend("fixed")` raises
:class:`~catapult.numerics.errors.MissingExtraError`, and the reference backends (mpmath, arb) stay available.

>>> from catapult.numerics.backends import get_backend
>>> B = get_backend("fixed", 50)
>>> with B.context():
...     x = B.vector([1.5, -2.0, 3.0]); y = B.lincomb(x, B.scalar(1) / 3, x)   # x - x/3
...     print(B.dot(x, x), mpmath.nstr(B.dot(y, y) * 9 / 4, 45))
15.25 15.25
"""

from __future__ import annotations

import fractions
import importlib

import mpmath
import numpy as np
from mpmath.libmp import from_man_exp

from .backends import Backend
from .errors import FixedRangeError, MissingExtraError, NumericsInputError

LIMBS, LIMB_BITS, FRAC_BITS = 7, 30, 180
_R = 1 << LIMB_BITS
_MASK = _R - 1
#: the operations of a :class:`FixedTape` (x, +, -)
TAPE_MUL, TAPE_ADD, TAPE_SUB = 0, 1, 2
#: the largest precision whose rounding the 180-bit grid resolves with >= 10 guard bits at magnitude 1
MAX_DPS = 50


def _kernels():
    try:
        fixed_kernels = importlib.import_module(__package__ + ".fixed_kernels")
    except ImportError as exc:
        raise MissingExtraError("the fixed backend needs numba, which is not installed: "
                                "pip install 'catapult[fast]' (or use the arb or mpmath backend)") from exc
    return fixed_kernels


class FixedVector:
    """n fixed-point numbers (an int32 limb array ``d`` of shape (7, n)); arithmetic with scalars and vectors of
    the same length.  ``numpy.asarray(v)`` gives float64 values.

    >>> B = Fixed(50)
    >>> with B.context():
    ...     v = B.vector([0.25, -1.0]) * 4 + B.vector([1.0, 1.0])
    >>> np.asarray(v).tolist(), v.to_mpf()[1]
    ([2.0, -3.0], mpf('-3.0'))
    """

    __slots__ = ("d", "_k")
    __array_priority__ = 1000  # numpy scalars defer to our __rmul__

    def __init__(self, d, kernels):
        self.d, self._k = d, kernels

    def __len__(self):
        return self.d.shape[1]

    def _new(self, d, bad):
        if bad:
            raise FixedRangeError("an entry left the fixed-point range [-2^30, 2^30) of the fixed backend")
        return FixedVector(d, self._k)

    def __mul__(self, s):
        out = np.empty_like(self.d)
        if isinstance(s, FixedVector):   # elementwise, rounded to nearest on the grid (as axpy rounds)
            if len(s) != len(self):
                return NotImplemented
            return self._new(out, self._k.mul(self.d, s.d, out))
        return self._new(out, self._k.axpy(self.d, scalar_limbs(s), self.d, out, False))

    __rmul__ = __mul__

    def __pow__(self, k):
        """Elementwise integer power k >= 1, by repeated squaring (products rounded to the grid)."""
        if int(k) != k or k < 1:
            return NotImplemented
        k, out, base = int(k), None, self
        while k:
            if k & 1:
                out = base if out is None else out * base
            k >>= 1
            if k:
                base = base * base
        return out

    @classmethod
    def concat(cls, vectors):
        """The vectors' entries one after the other, as one vector."""
        return cls(np.concatenate([v.d for v in vectors], axis=1), vectors[0]._k)

    def __getitem__(self, index):
        """The entries at ``index`` (a boolean mask, an index array or a slice) as a new vector."""
        return FixedVector(np.ascontiguousarray(self.d[:, index]), self._k)

    def __truediv__(self, s):
        return self * (1 / mpmath.mpf(s))

    def axpy(self, s, b):
        """self + s b (one rounding)."""
        out = np.empty_like(self.d)
        return self._new(out, self._k.axpy(self.d, scalar_limbs(s), b.d, out, True))

    def _add(self, other, sign):
        if not isinstance(other, FixedVector):   # a scalar: rounded to the grid, added to every entry
            try:
                limbs = scalar_limbs(other)
            except (TypeError, ValueError):
                return NotImplemented
            other = FixedVector(np.repeat(limbs[:, None], len(self), axis=1), self._k)
        if len(other) != len(self):
            return NotImplemented
        out = np.empty_like(self.d)
        return self._new(out, self._k.add(self.d, other.d, sign, out))

    def __add__(self, other):
        return self._add(other, 1)

    __radd__ = __add__

    def __sub__(self, other):
        return self._add(other, -1)

    def __rsub__(self, other):
        return (-self)._add(other, 1)

    def __neg__(self):
        return self * -1

    def __array__(self, dtype=None, copy=None):
        out = np.empty(len(self))
        self._k.to_float(self.d, out)
        return out if dtype is None else out.astype(dtype)

    def to_mpf(self):
        """The entries as exact mpmath numbers (not rounded to the context's precision)."""
        ints = [0] * len(self)
        for row in self.d.tolist():
            ints = [(v << LIMB_BITS) + int(r) for v, r in zip(ints, row)]
        return [mpmath.mp.make_mpf(from_man_exp(v, -FRAC_BITS)) for v in ints]

    def __repr__(self):
        return f"FixedVector({np.asarray(self).tolist()!r})"


class FixedMatrix:
    """An n x m matrix of fixed-point numbers: an int32 array ``d`` of shape (n, 7, m) (row i, ``d[i]``, is the
    limb array of a vector).  ``numpy.asarray(W)`` gives float64 values.

    >>> B = Fixed(50)
    >>> with B.context():
    ...     W = B.matrix([[1.0, 2.0], [3.0, 4.0]]); x = B.vector([1.0, -1.0])
    ...     W2 = B.lincomb(W, 1, B.outer(x, x))           # W - x x^T
    >>> np.asarray(B.matvec(W, x)).tolist(), np.asarray(B.matvec(W, x, transpose=True)).tolist()
    ([-1.0, -1.0], [-2.0, -2.0])
    >>> np.asarray(W2).tolist()
    [[0.0, 3.0], [4.0, 3.0]]
    """

    __slots__ = ("d",)

    def __init__(self, d):
        self.d = d

    @property
    def shape(self):
        return self.d.shape[0], self.d.shape[2]

    def __array__(self, dtype=None, copy=None):
        n, m = self.shape
        out = np.empty(n * m)
        _kernels().to_float(np.ascontiguousarray(self.d.transpose(1, 0, 2)).reshape(LIMBS, n * m), out)
        out = out.reshape(n, m)
        return out if dtype is None else out.astype(dtype)

    def to_mpf(self):
        """The rows' entries as exact mpmath numbers (a list of lists)."""
        return [FixedVector(np.ascontiguousarray(row), None).to_mpf() for row in self.d]

    def __repr__(self):
        return f"FixedMatrix({np.asarray(self).tolist()!r})"


class FixedOuter:
    """The outer product a b^T of two fixed-point vectors, not formed: a GD move of a matrix (the update
    ``lincomb(W, s, outer)`` is a rank-one kernel).  ``numpy.asarray`` forms it in float64."""

    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __array__(self, dtype=None, copy=None):
        return np.outer(np.asarray(self.a), np.asarray(self.b)).astype(dtype or np.float64)


class FixedTape:
    """A straight-line program of + - x on fixed-point vectors, run by one numba kernel (no Python per operation):
    many orbits of a polynomial map in lock-step, one vector entry per orbit.

    ``code`` rows are (op, d, a, b) with op 0 = x, 1 = +, 2 = - (:func:`~catapult.numerics.fixed_kernels.run_tape`)
    on registers (d never an input, a or b): 0 .. ``n_inputs`` - 1 are the inputs, ``literals`` maps a register to an integer constant,
    ``outputs`` lists the result registers; ``n_regs`` registers in all.  Calling it on input vectors of one
    length m gives ``(outputs, bad)``: fixed-point vectors and the mask of entries that left the range (their
    outputs are not to be used).

    >>> B = Fixed(50)
    >>> tape = FixedTape([[0, 2, 0, 0], [2, 3, 2, 1], [1, 2, 3, 4]], 5, 2, {4: 3}, [2])   # x^2 - y + 3
    >>> with B.context():
    ...     (out,), bad = tape([B.vector([1.5, 3e4]), B.vector([0.25, 1.0])])
    >>> float(np.asarray(out)[0]), bad.tolist()
    (5.0, [False, False])
    >>> with B.context():
    ...     (out,), bad = tape([B.vector([1.5, 4e4]), B.vector([0.25, 1.0])])
    >>> bad.tolist()          # 1.6e9 >= 2^30: that entry is flagged, the other goes on
    [False, True]
    """

    def __init__(self, code, n_regs, n_inputs, literals, outputs):
        self.code = np.ascontiguousarray(np.asarray(code, np.int64).reshape(-1, 4))
        self.n_regs, self.n_inputs = int(n_regs), int(n_inputs)
        c = self.code
        if c.size and ((c[:, 1] == c[:, 2]) | (c[:, 1] == c[:, 3]) | (c < 0).any(axis=1)
                       | (c[:, 1:] >= self.n_regs).any(axis=1) | (c[:, 1] < self.n_inputs)
                       | np.isin(c[:, 1], list(literals)) | ~np.isin(c[:, 0], (TAPE_MUL, TAPE_ADD, TAPE_SUB))).any():
            raise NumericsInputError("a tape instruction writes an input, a literal or its own operand, or names an "
                                     "unknown register or operation")
        self.literals, self.outputs = dict(literals), list(outputs)
        self._k = _kernels()
        self._regs = None

    def __call__(self, inputs):
        if len(inputs) != self.n_inputs:
            raise NumericsInputError(f"the tape takes {self.n_inputs} input vectors, got {len(inputs)}")
        m = len(inputs[0])
        if any(len(v) != m for v in inputs):
            raise NumericsInputError(f"the tape's inputs have different lengths: {sorted({len(v) for v in inputs})}")
        if self._regs is None or self._regs.shape[2] != m:   # kept while the batch keeps its length
            self._regs = np.zeros((self.n_regs, LIMBS, m), np.int32)
            for r, v in self.literals.items():   # an integer: its top limb (|v| < 2^30), the rest 0
                self._regs[r, 0, :] = int(v)
        regs = self._regs
        for r, v in enumerate(inputs):
            regs[r] = v.d
        bad = np.zeros(m, np.bool_)
        self._k.run_tape(self.code, regs, bad)
        return [FixedVector(regs[r].copy(), self._k) for r in self.outputs], bad


def scalar_limbs(s):
    """The limbs m_0..m_6 (int32, all of s's sign) of s rounded to the grid 2^-180; |s| < 2^30 or FixedRangeError.

    >>> scalar_limbs(mpmath.mpf(-1.5)).tolist()
    [-1, -536870912, 0, 0, 0, 0, 0]
    """
    if isinstance(s, fractions.Fraction):   # rounded to nearest on the grid directly (half up), not via a float
        N = (abs(s.numerator) << FRAC_BITS) * 2 + s.denominator
        return _limbs_of(N // (2 * s.denominator), s < 0)
    sign, man, exp, _ = mpmath.mpf(s)._mpf_
    if not man:
        if exp:  # inf or nan
            raise FixedRangeError(f"a non-finite scalar ({mpmath.mpf(s)}) multiplies a fixed-point vector")
        return np.zeros(LIMBS, np.int32)
    man, shift = int(man), exp + FRAC_BITS
    N = man << shift if shift >= 0 else (man + (1 << (-shift - 1))) >> -shift
    return _limbs_of(N, sign)


def _limbs_of(N, negative):
    """The limbs (all of the number's sign) of (-1)^negative N 2^-180 for an integer N >= 0."""
    if N >> FRAC_BITS >= _R:
        raise FixedRangeError(f"a scalar factor |s| = {mpmath.nstr(mpmath.mpf((N, -FRAC_BITS)), 5)} >= 2^30 is "
                              "outside the fixed backend's range")
    m = np.array([(N >> (LIMB_BITS * (LIMBS - 1 - j))) & _MASK for j in range(LIMBS)], dtype=np.int32)
    m[0] = N >> FRAC_BITS
    return -m if negative else m


class Fixed(Backend):
    """Fixed-point vectors on the grid 2^-180 (numba kernels), mpmath scalars at ``dps <= 50`` digits.

    >>> Fixed(50).tag, Fixed(50).library
    ('fixed50', 'mpmath')
    """

    name = "fixed"
    library = "mpmath"

    def __init__(self, dps=50, certified=False):
        super().__init__(dps, certified)
        if self.dps > MAX_DPS:
            raise NumericsInputError(f"the fixed backend carries 180 fractional bits: dps <= {MAX_DPS} "
                                     f"(got {self.dps}; use arb for more digits)")
        self._k = _kernels()
        self._acc = np.zeros((2, 2 * LIMBS - 1), np.int64)

    def __repr__(self):
        return f"Fixed(dps={self.dps})"

    def context(self):
        return mpmath.workprec(self.bits)

    def vector(self, xs):
        x = np.ascontiguousarray(xs, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(x)) or (x.size and (x.max() >= _R or x.min() < -_R)):
            raise NumericsInputError("the fixed backend represents entries in [-2^30, 2^30) (about 1.07e9); "
                                     "got a value outside it (use arb)")
        d = np.empty((LIMBS, x.size), np.int32)
        self._k.from_float(x, d)
        return FixedVector(d, self._k)

    def vector_exact(self, values):
        """A vector from numbers of any precision (mpmath, int, Fraction), each rounded to nearest on the grid
        (|error| <= 2^-181: a Fraction directly, an mpmath number from its exact value); |value| >= 2^30 raises
        :class:`~catapult.numerics.errors.FixedRangeError`.

        >>> B = Fixed(50)
        >>> with B.context():
        ...     third = mpmath.mpf(1) / 3       # 170 bits: on the grid
        ...     v = B.vector_exact([third, -2, fractions.Fraction(1, 2 ** 200)])
        >>> v.to_mpf()[0] == third, np.asarray(v).tolist()[1:]
        (True, [-2.0, 0.0])
        """
        limbs = np.stack([scalar_limbs(v) for v in values], axis=1) if len(values) else np.zeros((LIMBS, 0), np.int32)
        out = np.empty_like(limbs)   # scalar limbs share the number's sign: carried into the vectors' form
        if self._k.add(limbs, np.zeros_like(limbs), 1, out):
            raise FixedRangeError("a value outside the fixed-point range [-2^30, 2^30)")
        return FixedVector(out, self._k)

    def matrix(self, rows):
        x = np.asarray(rows, dtype=np.float64)
        if x.ndim != 2:
            raise NumericsInputError(f"a matrix must be 2-D, got shape {x.shape}")
        n, m = x.shape
        flat = self.vector(x.reshape(-1)).d        # (7, n m): the range check and the exact conversion
        return FixedMatrix(np.ascontiguousarray(flat.reshape(LIMBS, n, m).transpose(1, 0, 2)))

    def matvec(self, W, x, transpose=False):
        """W x (or W^T x): every entry's sum exact, rounded once to nearest on the grid 2^-180."""
        n, m = W.shape
        if len(x) != (n if transpose else m):
            raise NumericsInputError(f"matvec of a {n} x {m} matrix{' transposed' if transpose else ''} "
                                     f"with a vector of length {len(x)}")
        out = np.empty((LIMBS, m if transpose else n), np.int32)
        bad = (self._k.matvec_t if transpose else self._k.matvec)(W.d, x.d, out)
        return x._new(out, bad)

    def outer(self, a, b):
        """a b^T, kept as its two factors (:class:`FixedOuter`): a matrix's GD move."""
        return FixedOuter(a, b)

    def scalar(self, x):
        return mpmath.mpf(x)

    def dot(self, a, b):
        """The exact dot product of the stored vectors, rounded once to the context precision."""
        acc = self._acc
        self._k.dot(a.d, b.d, acc)
        N = 0
        for h, lo in zip(*acc.tolist()):
            N = (N << LIMB_BITS) + (h << LIMB_BITS) + lo
        return mpmath.mpf((N, -2 * FRAC_BITS)) if N else mpmath.mpf(0)

    def lincomb(self, a, s, b):
        """a - s b for vectors, and for a matrix a with b an outer product u v^T: every row a_i - (s u_i) v, with
        s u_i rounded to the grid first: |error| <= 2^-181 (1 + 2^-27) ((1 + |u_i|) |v_j| + 1 + |v_j|) per entry
        (s itself is rounded to the grid; a product s u_i >= 2^30 raises FixedRangeError even where the result
        would be in range); or a matrix b."""
        if isinstance(a, FixedVector):
            return a.axpy(-mpmath.mpf(s), b)
        out = np.empty_like(a.d)
        if isinstance(b, FixedOuter):
            scaled = b.a * (-mpmath.mpf(s))
            bad = self._k.rank1(a.d, scaled.d, b.b.d, out)
        else:
            m, bad = scalar_limbs(-mpmath.mpf(s)), False
            for i in range(a.d.shape[0]):
                bad |= self._k.axpy(a.d[i], m, b.d[i], out[i], True)
        if bad:
            raise FixedRangeError("an entry left the fixed-point range [-2^30, 2^30) of the fixed backend")
        return FixedMatrix(out)

    def sqrt(self, x):
        return mpmath.sqrt(x)

    def is_finite(self, x):
        return mpmath.isfinite(x)
