"""A derived reduced map iterated for many orbits at once (e.g. one per eta) on the fixed-point engine.

The map's update, f and lam are split by SymPy into

* the **constants of each orbit** -- the largest subexpressions free of the state (``1/(A C - rho^2)``,
  ``eta^2/n``, ...), evaluated once per orbit in MPFR at the run's precision and rounded to the grid 2^-180;
* a **polynomial** in the state and those constants, evaluated on fixed-point vectors with one entry per orbit
  (:class:`catapult.numerics.fixed.FixedVector`: + - x rounded to the grid, numba kernels).

A map that is not a polynomial in its state after the split -- a division by a state variable, a square root or
an exponential of one (the logistic loss's l'(f)) -- is not compiled: :class:`NotPolynomial` says which
subexpression, and the caller iterates such a map per orbit.  An orbit whose arithmetic leaves the fixed range
[-2^30, 2^30) (found by halving the batch, :func:`catapult.numerics.reduced.run_map_lockstep`) is continued
alone in MPFR at the run's precision from its state before the failing step, with the same stop rule and the
same start: its verdict is then that of :func:`catapult.numerics.reduced.run_map` from there on.

Examples
========
>>> import sympy as sp
>>> f, lam, eta, n = sp.symbols("f lam eta n", positive=True)
>>> prog = fixed_program({"f": f * (1 - eta * lam + eta**2 * f**2 / n), "lam": lam + eta * f**2 / n * (eta * lam - 4)},
...                      f, lam, [f, lam], [eta, n])
>>> prog.constants
[-eta, eta**2/n, eta, eta/n]
>>> fixed_program({"f": f / lam, "lam": lam}, f, lam, [f, lam], [eta, n])
Traceback (most recent call last):
...
catapult.verify.lockstep.NotPolynomial: 1/lam is not a polynomial in the state (f, lam): a lock-step map on the fixed-point engine needs + - x of the state only
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from catapult.numerics.backends import get_backend
from catapult.numerics.fixed import TAPE_ADD, TAPE_MUL, TAPE_SUB
from catapult.numerics.reduced import OUT_OF_RANGE, run_map_lockstep

from .bridge import _gmpy2_namespace, to_mpmath

#: a value this large (in magnitude) is outside the fixed-point range [-2^30, 2^30)
RANGE = 2 ** 30


class NotPolynomial(ValueError):
    """A map whose update is not a polynomial in its state (after its constants are split off)."""


def _split(expr, state, table):
    """``expr`` with every largest state-free subexpression replaced by a symbol (``table``: expression -> symbol);
    NotPolynomial when what is left is not a polynomial in the state."""
    if not expr.free_symbols & state:   # integers stay literals; any other constant is one per orbit
        return expr if expr.is_Integer else table.setdefault(expr, sp.Dummy(f"k{len(table)}"))
    if expr.is_Symbol:
        return expr
    if expr.is_Add or expr.is_Mul:
        const = [a for a in expr.args if not a.free_symbols & state]
        parts = [_split(a, state, table) for a in expr.args if a.free_symbols & state]
        if const:
            parts.append(_split(expr.func(*const), state, table))
        return expr.func(*parts)
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        return _split(expr.base, state, table) ** expr.exp
    names = ", ".join(sorted(str(s) for s in state))
    raise NotPolynomial(f"{expr} is not a polynomial in the state ({names}): a lock-step map on the fixed-point "
                        "engine needs + - x of the state only")


@dataclass
class FixedProgram:
    """A map split into per-orbit constants and a polynomial step on the fixed-point engine (:func:`fixed_program`).
    """

    names: list
    constants: list        # the constants' SymPy expressions in the map's constants
    tape: object           # catapult.numerics.fixed.FixedTape: (state, constants) -> updates, f, lam
    const_fn: object       # per orbit: the map's constants -> the constants' values (MPFR)

    def step(self, S, K):
        """One step of every orbit: ``(next state, f, lam, bad)`` (fixed-point vectors, and the mask of orbits whose
        numbers left the range), as :func:`catapult.numerics.reduced.run_map_lockstep` calls it."""
        out, bad = self.tape(list(S) + list(K))
        k = len(self.names)
        return out[:k], out[k], out[k + 1], bad


class _Tape:
    """SSA instructions from SymPy expressions (+, -, x and positive integer powers; integers as literals)."""

    def __init__(self, inputs):
        self.reg = {s: i for i, s in enumerate(inputs)}
        self.n = self.n_inputs = len(inputs)
        self.code, self.literals, self.memo = [], {}, {}

    def _new(self):
        self.n += 1
        return self.n - 1

    def _emit(self, op, a, b):
        d = self._new()
        self.code.append((op, d, a, b))
        return d

    def _literal(self, v):
        if v not in self.literals:
            if abs(v) >= RANGE:
                raise NotPolynomial(f"the integer {v} is outside the fixed-point range")
            self.literals[v] = self._new()
        return self.literals[v]

    def build(self, e):
        if e in self.reg:
            return self.reg[e]
        if e not in self.memo:
            self.memo[e] = self._build(e)
        return self.memo[e]

    def _build(self, e):
        if e.is_Integer:
            return self._literal(int(e))
        if e.is_Add:
            acc = None
            for t in e.args:
                coeff, _ = t.as_coeff_Mul()
                if coeff.is_negative:
                    r = self.build(-t)
                    acc = self._emit(TAPE_SUB, self._literal(0) if acc is None else acc, r)
                else:
                    r = self.build(t)
                    acc = r if acc is None else self._emit(TAPE_ADD, acc, r)
            return acc
        if e.is_Mul:
            coeff, rest = e.as_coeff_Mul()
            if coeff == -1:
                return self._emit(TAPE_SUB, self._literal(0), self.build(rest))
            regs = [self.build(a) for a in e.args]
            acc = regs[0]
            for r in regs[1:]:
                acc = self._emit(TAPE_MUL, acc, r)
            return acc
        if e.is_Pow and e.exp.is_Integer and e.exp > 0:
            k, out, base = int(e.exp), None, self.build(e.base)
            while k:
                if k & 1:
                    out = base if out is None else self._emit(TAPE_MUL, out, base)
                k >>= 1
                if k:
                    base = self._emit(TAPE_MUL, base, base)
            return out
        raise NotPolynomial(f"{e} is not a polynomial (a lock-step map on the fixed-point engine needs + - x)")

    def allocate(self, outputs):
        """Reuse registers whose value is dead (liveness over the straight-line code), never an operand's as the
        destination of its own instruction: (code, n_regs, outputs)."""
        fixed = set(range(self.n_inputs)) | set(self.literals.values())
        last = {}
        for i, (_, d, a, b) in enumerate(self.code):
            last[a], last[b] = i, i
        for r in outputs:
            last[r] = len(self.code)
        phys = {r: r for r in fixed}
        free, top, code = [], max(fixed) + 1 if fixed else 0, []
        for i, (op, d, a, b) in enumerate(self.code):
            pa, pb = phys[a], phys[b]
            if free:
                pd = free.pop()
            else:
                pd, top = top, top + 1
            for r in {a, b}:   # freed after d is chosen: a destination is never its own operand
                if r not in fixed and last.get(r) == i:
                    free.append(phys[r])
            phys[d] = pd
            code.append((op, pd, pa, pb))
        return code, top, [phys[r] for r in outputs]


def _tape(exprs, inputs):
    """A :class:`catapult.numerics.fixed.FixedTape` evaluating ``exprs`` (polynomials in ``inputs``)."""
    from catapult.numerics.fixed import FixedTape
    reps, reduced = sp.cse(exprs)
    t = _Tape(inputs)
    for sym, e in reps:
        t.reg[sym] = t.build(e)
    outs = [t.build(e) for e in reduced]
    code, n_regs, outs = t.allocate(outs)
    return FixedTape(code, n_regs, len(inputs), {r: v for v, r in t.literals.items()}, outs)


def fixed_program(update, f_expr, lam_expr, state, consts) -> FixedProgram:
    """Split a map ``state -> update[name]`` (with output ``f_expr`` and NTK ``lam_expr``, in the symbols
    ``state`` and ``consts``) for the fixed-point lock-step; NotPolynomial when it is not polynomial in its state.

    >>> x, c = sp.symbols("x c")
    >>> prog = fixed_program({"x": x ** 2 * c / 3 + 1}, x, x, [x], [c])
    >>> prog.constants, len(prog.tape.code)      # c/3 once per orbit; x^2, a product, + 1
    ([c/3], 3)
    """
    names = [str(s) for s in state]
    table = {}
    st = set(state)
    exprs = [_split(sp.sympify(update[nm], strict=True), st, table) for nm in names]
    exprs += [_split(sp.sympify(f_expr, strict=True), st, table), _split(sp.sympify(lam_expr, strict=True), st, table)]
    ks = list(table.values())
    const_fn = sp.lambdify([list(consts)], list(table.keys()), modules=[_gmpy2_namespace(), "mpmath"])
    return FixedProgram(names, list(table.keys()), _tape(exprs, list(state) + ks), const_fn)


def lockstep_verdicts(prog, inits, consts, *, steps, rule, slope, scale, lam0, stiffness=None, alone=None):
    """Verdicts of many orbits of ``prog`` at once on the fixed-point engine.  Orbit i starts at ``inits[i]`` (its
    state) with the map's constants ``consts[i]`` (MPFR numbers; call inside a gmpy2 context at the run's
    precision: the per-orbit constants are evaluated there).  ``slope`` is l' of the stop rule on float64 arrays;
    ``scale``, ``lam0``, ``stiffness``: float arrays (or a scalar scale), as
    :func:`catapult.numerics.reduced.run_map_lockstep` takes them.  An orbit whose numbers leave the fixed range
    (at the start, or in a step) is passed to ``alone(i, t, state, carry)`` -- its state at step t as exact
    mpmath numbers, and the run's ``carry`` of :func:`catapult.numerics.reduced.run_map_lockstep` (None at the
    start) -- which returns its (code, step); without ``alone``
    its code stays :data:`catapult.numerics.reduced.OUT_OF_RANGE`.  Returns ``(codes, when, continued)``: the
    codes and deciding steps of run_map_lockstep, and the indices of the orbits passed to ``alone``.

    >>> import gmpy2
    >>> from catapult.numerics.stop import StopRule
    >>> x, c = sp.symbols("x c")
    >>> prog = fixed_program({"x": x * c}, x, x, [x], [c])        # x' = c x: converges for |c| < 1
    >>> with gmpy2.context(gmpy2.get_context(), precision=100):
    ...     codes, when, _ = lockstep_verdicts(prog, [[gmpy2.mpfr(1)]] * 2, [[gmpy2.mpfr("0.5")], [gmpy2.mpfr(3)]],
    ...                                        steps=200, rule=StopRule(), slope=lambda f: f, scale=1.0,
    ...                                        lam0=np.ones(2))
    >>> codes.tolist()      # 0.5^t -> 0 (converged), 3^t (runaway)
    [0, 1]
    """
    m = len(inits)
    B = get_backend("fixed", 50)
    kvals = [[to_mpmath(v) for v in prog.const_fn(list(c))] for c in consts]
    state_vals = [[to_mpmath(v) for v in s] for s in inits]
    inside = np.array([all(abs(v) < RANGE - 1 for v in kv + sv) for kv, sv in zip(kvals, state_vals)], bool)
    code = np.full(m, OUT_OF_RANGE, np.int8)
    when = np.zeros(m, np.int64)
    continued = []

    def hand(i, t, state, carry):
        if alone is None:
            return OUT_OF_RANGE, t
        continued.append(i)
        return alone(i, t, state, carry)

    for i in np.flatnonzero(~inside):
        code[i], when[i] = hand(int(i), 0, state_vals[i], None)
    sel = np.flatnonzero(inside)
    if sel.size:
        def pick(a):
            return a if np.ndim(a) == 0 else np.asarray(a, float)[sel]
        with B.context():
            S = [B.vector_exact([state_vals[i][k] for i in sel]) for k in range(len(prog.names))]
            K = [B.vector_exact([kvals[i][j] for i in sel]) for j in range(len(prog.constants))]
            code[sel], when[sel] = run_map_lockstep(
                prog.step, S, K, steps=steps, slope=slope, scale=pick(scale), lam0=pick(lam0), rule=rule,
                stiffness=None if stiffness is None else pick(stiffness),
                handoff=lambda j, t, state, carry: hand(int(sel[j]), t, [v.to_mpf()[0] for v in state], carry))
    return code, when, sorted(continued)
