"""numba kernels of the fixed-point vector arithmetic of :mod:`catapult.numerics.fixed` (imported only with numba).

A vector of n numbers is an ``int32`` array ``d`` of shape (7, n) (limb-major: each limb's row is contiguous, so
the loops over elements vectorise, four 32x32 -> 64-bit products per AVX2 instruction).  Element e is

    x = d[0, e] + d[1, e] 2^-30 + ... + d[6, e] 2^-180,   d[1..6, e] in [0, 2^30),   d[0, e] in [-2^30, 2^30)

(two's complement in base R = 2^30: the top limb carries the sign), so x lies in [-2^30, 2^30) on the grid 2^-180.

Bounds that make every step exact in int64 (proofs of the kernels' correctness):

* a limb product satisfies |d_i e_j| <= 2^60 (both factors are at most 2^30 in magnitude);
* a column of a product has at most 7 limb products: |column| <= 7 * 2^60, plus one limb of an addend (< 2^30)
  and a carry (< 2^34): below 2^63;
* a dot product keeps per column the sums of ``column >> 30`` and ``column & (2^30 - 1)``: each term is below
  7 * 2^30 in magnitude, so n < 2^30 elements cannot overflow the int64 sums; the column sums are then combined in
  Python integers: the dot product of the stored vectors is EXACT.
* matrices (n x m) are arrays of shape (n, 7, m): row i, ``W[i]``, is a vector.  :func:`matvec` and
  :func:`matvec_t` form each entry's exact column sums as a dot product does and round them once, half up on the
  grid (:func:`_round_columns`: |error| <= 2^-181); :func:`rank1` is one :func:`axpy` per row.
* :func:`axpy` rounds to nearest on the grid: columns 0..8 of the product are formed (two guard limbs), the dropped
  columns 9..12 weigh < 4 * 2^60 * 2^-270 = 2^-208 and the floor of limb 8 into limb 7 < 2^-210, so the result is
  within 2^-181 (1 + 2^-27) of a + s b for the digits s given.
* overflow: a result whose top limb leaves [-2^30, 2^30) (an entry |x| >= 2^30) sets the returned flag; it is never
  stored as a wrapped value (the caller raises).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .fixed import TAPE_ADD, TAPE_MUL   # the operations of a tape (run_tape)

K = 30
R = 1 << K
M = R - 1
HALF = 1 << (K - 1)


@nb.njit(cache=True, nogil=True, inline="always")
def _limb(c, carry):
    """(carry out, limb) of column c plus the carry in: floor division and remainder by 2^30."""
    v = c + carry
    return v >> K, v & M


@nb.njit(cache=True, nogil=True, inline="always")
def _normalize(c0, c1, c2, c3, c4, c5, c6, c7, c8):
    """Columns (weights 2^0 ... 2^-240, int64) -> limbs rounded to nearest at 2^-180, and the overflow flag."""
    carry, d6 = _limb(c6, (c7 + (c8 >> K) + HALF) >> K)  # limbs 7, 8: rounded into limb 6
    carry, d5 = _limb(c5, carry)
    carry, d4 = _limb(c4, carry)
    carry, d3 = _limb(c3, carry)
    carry, d2 = _limb(c2, carry)
    carry, d1 = _limb(c1, carry)
    d0 = c0 + carry
    return d0, d1, d2, d3, d4, d5, d6, (d0 >= R) | (d0 < -R)


@nb.njit(cache=True, nogil=True, inline="always")
def _store(out, e, c0, c1, c2, c3, c4, c5, c6, c7, c8):
    """Normalise columns c0..c8 (:func:`_normalize`) into ``out[:, e]``; returns the overflow flag."""
    d0, d1, d2, d3, d4, d5, d6, over = _normalize(c0, c1, c2, c3, c4, c5, c6, c7, c8)
    out[0, e] = d0
    out[1, e] = d1
    out[2, e] = d2
    out[3, e] = d3
    out[4, e] = d4
    out[5, e] = d5
    out[6, e] = d6
    return over


@nb.njit(cache=True, nogil=True, inline="always")
def _product_columns(b0, b1, b2, b3, b4, b5, b6, m0, m1, m2, m3, m4, m5, m6):
    """Columns 0..8 (weights 2^0 ... 2^-240) of the product of two 7-limb numbers (int64 limbs, |limb| <= 2^30);
    columns 9..12 (< 2^-207 in all) are dropped.  (The 39 limb products are written out so that LLVM vectorises
    the loops around them.)"""
    c0 = b0 * m0
    c1 = b0 * m1 + b1 * m0
    c2 = b0 * m2 + b1 * m1 + b2 * m0
    c3 = b0 * m3 + b1 * m2 + b2 * m1 + b3 * m0
    c4 = b0 * m4 + b1 * m3 + b2 * m2 + b3 * m1 + b4 * m0
    c5 = b0 * m5 + b1 * m4 + b2 * m3 + b3 * m2 + b4 * m1 + b5 * m0
    c6 = b0 * m6 + b1 * m5 + b2 * m4 + b3 * m3 + b4 * m2 + b5 * m1 + b6 * m0
    c7 = b1 * m6 + b2 * m5 + b3 * m4 + b4 * m3 + b5 * m2 + b6 * m1
    c8 = b2 * m6 + b3 * m5 + b4 * m4 + b5 * m3 + b6 * m2
    return c0, c1, c2, c3, c4, c5, c6, c7, c8


@nb.njit(cache=True, nogil=True)
def axpy(a, m, b, out, with_a):
    """out = a + s b (out = s b when not ``with_a``) for the scalar s = sum_j m[j] 2^(-30 j) (|m[j]| <= 2^30,
    int32: the limbs of :func:`~catapult.numerics.fixed.scalar_limbs` or of a vector's entry); returns True when
    an entry overflowed (out is then not to be used)."""
    n = b.shape[1]
    m0, m1, m2, m3 = np.int64(m[0]), np.int64(m[1]), np.int64(m[2]), np.int64(m[3])  # int32 limbs widened: the
    m4, m5, m6 = np.int64(m[4]), np.int64(m[5]), np.int64(m[6])  # products are 32x32 -> 64 bit (vpmuldq)
    bad = False
    for e in range(n):
        c0, c1, c2, c3, c4, c5, c6, c7, c8 = _product_columns(
            np.int64(b[0, e]), np.int64(b[1, e]), np.int64(b[2, e]), np.int64(b[3, e]), np.int64(b[4, e]),
            np.int64(b[5, e]), np.int64(b[6, e]), m0, m1, m2, m3, m4, m5, m6)
        if with_a:
            c0 += a[0, e]
            c1 += a[1, e]
            c2 += a[2, e]
            c3 += a[3, e]
            c4 += a[4, e]
            c5 += a[5, e]
            c6 += a[6, e]
        bad |= _store(out, e, c0, c1, c2, c3, c4, c5, c6, c7, c8)
    return bad


@nb.njit(cache=True, nogil=True)
def mul(a, b, out):
    """out = a * b elementwise, rounded to nearest on the grid as :func:`axpy` rounds (|error| <= 2^-181 (1 +
    2^-27)); returns True when an entry overflowed."""
    bad = False
    for e in range(a.shape[1]):
        c0, c1, c2, c3, c4, c5, c6, c7, c8 = _product_columns(
            np.int64(b[0, e]), np.int64(b[1, e]), np.int64(b[2, e]), np.int64(b[3, e]), np.int64(b[4, e]),
            np.int64(b[5, e]), np.int64(b[6, e]), np.int64(a[0, e]), np.int64(a[1, e]), np.int64(a[2, e]),
            np.int64(a[3, e]), np.int64(a[4, e]), np.int64(a[5, e]), np.int64(a[6, e]))
        bad |= _store(out, e, c0, c1, c2, c3, c4, c5, c6, c7, c8)
    return bad


@nb.njit(cache=True, nogil=True)
def add(a, b, sign, out):
    """out = a + sign b (sign = +1 or -1), exact; returns True when an entry overflowed."""
    n = a.shape[1]
    sign = np.int64(np.int32(sign))
    bad = False
    for e in range(n):
        bad |= _store(
            out, e, np.int64(a[0, e]) + sign * np.int64(b[0, e]), np.int64(a[1, e]) + sign * np.int64(b[1, e]),
            np.int64(a[2, e]) + sign * np.int64(b[2, e]), np.int64(a[3, e]) + sign * np.int64(b[3, e]),
            np.int64(a[4, e]) + sign * np.int64(b[4, e]), np.int64(a[5, e]) + sign * np.int64(b[5, e]),
            np.int64(a[6, e]) + sign * np.int64(b[6, e]), np.int64(0), np.int64(0))
    return bad


@nb.njit(cache=True, nogil=True, inline="always")
def _dot_columns(a, b):
    """The exact dot product of two vectors (7, n) as 26 int64 sums: per column c = 0..12 (weight 2^(-30 c)) of
    the limb products, the sums over elements of its ``>> 30`` and its ``& (2^30 - 1)`` parts (h0..h12, l0..l12).
    (Over 60 lines: the 49 limb products are written out so that LLVM vectorises them.)"""
    n = a.shape[1]
    h0 = h1 = h2 = h3 = h4 = h5 = h6 = h7 = h8 = h9 = h10 = h11 = h12 = np.int64(0)
    l0 = l1 = l2 = l3 = l4 = l5 = l6 = l7 = l8 = l9 = l10 = l11 = l12 = np.int64(0)
    for e in range(n):
        a0, a1, a2, a3 = np.int64(a[0, e]), np.int64(a[1, e]), np.int64(a[2, e]), np.int64(a[3, e])
        a4, a5, a6 = np.int64(a[4, e]), np.int64(a[5, e]), np.int64(a[6, e])
        b0, b1, b2, b3 = np.int64(b[0, e]), np.int64(b[1, e]), np.int64(b[2, e]), np.int64(b[3, e])
        b4, b5, b6 = np.int64(b[4, e]), np.int64(b[5, e]), np.int64(b[6, e])
        c = a0 * b0
        h0 += c >> K
        l0 += c & M
        c = a0 * b1 + a1 * b0
        h1 += c >> K
        l1 += c & M
        c = a0 * b2 + a1 * b1 + a2 * b0
        h2 += c >> K
        l2 += c & M
        c = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0
        h3 += c >> K
        l3 += c & M
        c = a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0
        h4 += c >> K
        l4 += c & M
        c = a0 * b5 + a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1 + a5 * b0
        h5 += c >> K
        l5 += c & M
        c = a0 * b6 + a1 * b5 + a2 * b4 + a3 * b3 + a4 * b2 + a5 * b1 + a6 * b0
        h6 += c >> K
        l6 += c & M
        c = a1 * b6 + a2 * b5 + a3 * b4 + a4 * b3 + a5 * b2 + a6 * b1
        h7 += c >> K
        l7 += c & M
        c = a2 * b6 + a3 * b5 + a4 * b4 + a5 * b3 + a6 * b2
        h8 += c >> K
        l8 += c & M
        c = a3 * b6 + a4 * b5 + a5 * b4 + a6 * b3
        h9 += c >> K
        l9 += c & M
        c = a4 * b6 + a5 * b5 + a6 * b4
        h10 += c >> K
        l10 += c & M
        c = a5 * b6 + a6 * b5
        h11 += c >> K
        l11 += c & M
        c = a6 * b6
        h12 += c >> K
        l12 += c & M
    return (h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12,
            l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12)


@nb.njit(cache=True, nogil=True)
def dot(a, b, acc):
    """The exact dot product of two vectors: ``acc[0, c]`` / ``acc[1, c]`` receive the sums over elements of
    column c's ``>> 30`` / ``& (2^30 - 1)`` parts (c = 0..12, weight 2^(-30 c), :func:`_dot_columns`); combined
    by the caller."""
    cols = _dot_columns(a, b)
    for c in range(13):
        acc[0, c] = cols[c]
        acc[1, c] = cols[13 + c]


@nb.njit(cache=True, nogil=True, inline="always")
def _round_columns(out, e, hs, ls):
    """Store sum_c (hs[c] 2^30 + ls[c]) 2^(-30 c) (c = 0..12, exact int64 column sums of a dot product) in
    ``out[:, e]``, rounded half up on the grid 2^-180 (|error| <= 2^-181); returns the overflow flag.

    Exact: the carry is propagated from column 12 up in int64 (|carry| < 8 n 2^30 < 2^63 for n < 2^29, the
    bound of the column sums); limbs 7..12 are the part below 2^-180, which rounds up when its top limb is
    >= 2^29."""
    carry = np.int64(0)
    low = np.int64(0)
    for c in range(12, 6, -1):
        t = ls[c] + carry
        low = t & M
        carry = (t >> K) + hs[c]
    carry += np.int64(low >= HALF)       # limb 7 >= 2^29: the dropped part is >= 2^-181
    for c in range(6, 0, -1):
        t = ls[c] + carry
        out[c, e] = t & M
        carry = (t >> K) + hs[c]
    t = ls[0] + carry                    # the value is (hs[0] + (t >> 30)) 2^30 + (t & M) + the limbs below
    q = hs[0] + (t >> K)                 # in range exactly when q is -1 or 0 (q R wraps only when flagged)
    out[0, e] = q * R + (t & M)
    return (q < -1) | (q > 0)


@nb.njit(cache=True, nogil=True)
def matvec(W, x, out):
    """out = W x rounded to nearest on the grid (each entry's dot product exact, :func:`_round_columns`) for a
    matrix W of shape (n, 7, m) (row i = ``W[i]``, a vector of m numbers) and a vector x (7, m); returns True when
    an entry overflowed."""
    bad = False
    hs = np.zeros(13, np.int64)
    ls = np.zeros(13, np.int64)
    for i in range(W.shape[0]):
        cols = _dot_columns(W[i], x)
        for c in range(13):
            hs[c] = cols[c]
            ls[c] = cols[13 + c]
        bad |= _round_columns(out, i, hs, ls)
    return bad


@nb.njit(cache=True, nogil=True)
def matvec_t(W, b, out):
    """out = W^T b rounded to nearest on the grid, every entry's sum exact (:func:`_round_columns`), for W of shape
    (n, 7, m) and b (7, n): the rows scaled by b_i and summed in int64 column sums, in blocks of 64 columns (the
    block's 26 x 64 sums stay in the L1 cache).  Returns True when an entry overflowed.
    (Over 60 lines: the 49 limb products are written out so that LLVM vectorises them.)"""
    n, m = W.shape[0], W.shape[2]
    JB = 64
    acc = np.zeros((26, JB), np.int64)
    hs = np.zeros(13, np.int64)
    ls = np.zeros(13, np.int64)
    bad = False
    for j0 in range(0, m, JB):
        w = min(JB, m - j0)
        acc[:, :] = 0
        for i in range(n):
            b0, b1, b2, b3 = np.int64(b[0, i]), np.int64(b[1, i]), np.int64(b[2, i]), np.int64(b[3, i])
            b4, b5, b6 = np.int64(b[4, i]), np.int64(b[5, i]), np.int64(b[6, i])
            for jj in range(w):
                j = j0 + jj
                a0, a1, a2, a3 = np.int64(W[i, 0, j]), np.int64(W[i, 1, j]), np.int64(W[i, 2, j]), np.int64(W[i, 3, j])
                a4, a5, a6 = np.int64(W[i, 4, j]), np.int64(W[i, 5, j]), np.int64(W[i, 6, j])
                c = a0 * b0
                acc[0, jj] += c >> K
                acc[13, jj] += c & M
                c = a0 * b1 + a1 * b0
                acc[1, jj] += c >> K
                acc[14, jj] += c & M
                c = a0 * b2 + a1 * b1 + a2 * b0
                acc[2, jj] += c >> K
                acc[15, jj] += c & M
                c = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0
                acc[3, jj] += c >> K
                acc[16, jj] += c & M
                c = a0 * b4 + a1 * b3 + a2 * b2 + a3 * b1 + a4 * b0
                acc[4, jj] += c >> K
                acc[17, jj] += c & M
                c = a0 * b5 + a1 * b4 + a2 * b3 + a3 * b2 + a4 * b1 + a5 * b0
                acc[5, jj] += c >> K
                acc[18, jj] += c & M
                c = a0 * b6 + a1 * b5 + a2 * b4 + a3 * b3 + a4 * b2 + a5 * b1 + a6 * b0
                acc[6, jj] += c >> K
                acc[19, jj] += c & M
                c = a1 * b6 + a2 * b5 + a3 * b4 + a4 * b3 + a5 * b2 + a6 * b1
                acc[7, jj] += c >> K
                acc[20, jj] += c & M
                c = a2 * b6 + a3 * b5 + a4 * b4 + a5 * b3 + a6 * b2
                acc[8, jj] += c >> K
                acc[21, jj] += c & M
                c = a3 * b6 + a4 * b5 + a5 * b4 + a6 * b3
                acc[9, jj] += c >> K
                acc[22, jj] += c & M
                c = a4 * b6 + a5 * b5 + a6 * b4
                acc[10, jj] += c >> K
                acc[23, jj] += c & M
                c = a5 * b6 + a6 * b5
                acc[11, jj] += c >> K
                acc[24, jj] += c & M
                c = a6 * b6
                acc[12, jj] += c >> K
                acc[25, jj] += c & M
        for jj in range(w):
            for c in range(13):
                hs[c] = acc[c, jj]
                ls[c] = acc[13 + c, jj]
            bad |= _round_columns(out, j0 + jj, hs, ls)
    return bad


@nb.njit(cache=True, nogil=True)
def rank1(W, s, h, out):
    """out[i] = W[i] + s_i h for every row i (W, out of shape (n, 7, m); s (7, n) and h (7, m) vectors): the
    rank-one update W + s h^T, each row one :func:`axpy` with the grid number s_i as its scalar (its limbs in
    two's complement: the products' bounds are the same).  Returns True when an entry overflowed."""
    bad = False
    m = np.empty(7, np.int32)
    for i in range(W.shape[0]):
        for k in range(7):
            m[k] = s[k, i]
        bad |= axpy(W[i], m, h, out[i], True)
    return bad


@nb.njit(cache=True, nogil=True, inline="always")
def _negate(digits):
    """Two's complement negation in base 2^30, in place: -d = (R - 1 - d) + 1 at the bottom, carried up."""
    carry = np.int64(1)
    for i in range(6, 0, -1):
        t = M - digits[i] + carry
        digits[i] = t & M
        carry = t >> K
    digits[0] = -digits[0] - 1 + carry


@nb.njit(cache=True, nogil=True)
def from_float(x, out):
    """Limbs of float64 values |x| < 2^30 (checked by the caller), rounded down on the grid 2^-180 (exact for every
    double whose lowest set bit is >= 2^-180, e.g. |x| >= 2^-127)."""
    for e in range(x.shape[0]):
        v = abs(x[e])
        top = np.floor(v)
        frac = v - top  # exact for v >= 0 (x - floor(x) is not exact for negative x)
        digits = np.zeros(7, np.int64)
        digits[0] = np.int64(top)
        for i in range(1, 7):
            frac *= R  # exact: a power of two
            digit = np.floor(frac)
            digits[i] = np.int64(digit)
            frac -= digit
        if x[e] < 0:
            _negate(digits)
        for i in range(7):
            out[i, e] = np.int32(digits[i])


@nb.njit(cache=True, nogil=True)
def to_float(d, out):
    """float64 values of the vector's entries: exact when the entry is a double (its magnitude's limbs are summed
    from the lowest, and every partial sum holds a subset of its bits), else within an ulp or two."""
    digits = np.zeros(7, np.int64)
    for e in range(d.shape[1]):
        for i in range(7):
            digits[i] = d[i, e]
        neg = digits[0] < 0
        if neg:  # the magnitude
            _negate(digits)
        v = 0.0
        for i in range(6, 0, -1):
            v = (v + digits[i]) * (1.0 / R)
        v += digits[0]
        out[e] = -v if neg else v




@nb.njit(cache=True, nogil=True)
def _flag_entries(op, a, b, bad):
    """Set ``bad[e]`` for every entry e whose result of ``a op b`` (:func:`run_tape`'s operations) leaves the
    range: the slow path, run only for an operation whose vector kernel reported an overflow."""
    tmp = np.empty((7, 1), np.int32)
    for e in range(a.shape[1]):
        if op == TAPE_MUL:
            c0, c1, c2, c3, c4, c5, c6, c7, c8 = _product_columns(
                np.int64(b[0, e]), np.int64(b[1, e]), np.int64(b[2, e]), np.int64(b[3, e]), np.int64(b[4, e]),
                np.int64(b[5, e]), np.int64(b[6, e]), np.int64(a[0, e]), np.int64(a[1, e]),
                np.int64(a[2, e]), np.int64(a[3, e]), np.int64(a[4, e]), np.int64(a[5, e]), np.int64(a[6, e]))
        else:
            sign = np.int64(1) if op == TAPE_ADD else np.int64(-1)
            c0, c1, c2 = np.int64(a[0, e]) + sign * b[0, e], np.int64(a[1, e]) + sign * b[1, e], \
                np.int64(a[2, e]) + sign * b[2, e]
            c3, c4, c5 = np.int64(a[3, e]) + sign * b[3, e], np.int64(a[4, e]) + sign * b[4, e], \
                np.int64(a[5, e]) + sign * b[5, e]
            c6, c7, c8 = np.int64(a[6, e]) + sign * b[6, e], np.int64(0), np.int64(0)
        bad[e] |= _store(tmp, 0, c0, c1, c2, c3, c4, c5, c6, c7, c8)


@nb.njit(cache=True, nogil=True)
def run_tape(code, regs, bad):
    """Run a straight-line program on a register file of vectors: ``code`` rows (op, d, a, b) set register d to
    a * b (:func:`mul`: rounded to the grid), a + b or a - b (:func:`add`: exact); ``regs`` has shape
    (registers, 7, m), and d is never a or b (the vector kernels then take their vectorised path).  An entry whose
    result leaves the range sets ``bad[e]`` (:func:`_flag_entries`; its later values are not to be used; nothing
    is raised, so the other entries go on)."""
    for k in range(code.shape[0]):
        op, d, ia, ib = code[k, 0], code[k, 1], code[k, 2], code[k, 3]
        a, b = regs[ia], regs[ib]
        if op == TAPE_MUL:
            over = mul(a, b, regs[d])
        else:
            over = add(a, b, 1 if op == TAPE_ADD else -1, regs[d])
        if over:
            _flag_entries(op, a, b, bad)
