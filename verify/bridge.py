"""Turn theory's symbolic objects into the plain callables numerics needs.

This is the only place where a SymPy loss becomes numbers: one compiled
``(value, slope)`` pair per backend (numpy for float64, mpmath at the run's
precision, python-flint balls for arb -- compiled inside the run's precision
context, so constants such as 1/3 or pi are exact to that precision).

Examples
========
>>> from catapult.theory import Loss
>>> from catapult.numerics.backends import get_backend
>>> L = numeric_loss(Loss.parse("log(cosh(f - 1))"))
>>> B = get_backend("arb", 40)
>>> with B.context():
...     value, slope = L.bind(B)
...     print(B.to_mpf(slope(B.scalar(1))))
0.0
>>> numeric_loss(Loss.parse("(f - y)**2/2"))
Traceback (most recent call last):
...
ValueError: loss (f - y)**2/2 needs values for: y
"""

from __future__ import annotations

import mpmath
import sympy as sp

from catapult.numerics.losses import NumericLoss
from catapult.theory.loss import Loss
from catapult.theory.parse import exact_params
from catapult.theory.symbols import SYMBOLS, f


def _arb_namespace():
    import flint
    arb = flint.arb

    def mpf(x):
        if isinstance(x, tuple):
            sign, man, exp, _ = x
            return arb(((-1) ** sign * man, exp))
        return arb(x)

    def m(name):
        return lambda x: getattr(arb(x) if not isinstance(x, arb) else x, name)()

    ns = {"mpf": mpf, "pi": arb.pi(), "e": arb.const_e()}
    for name in ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin", "acos", "atan",
                 "asinh", "acosh", "atanh", "erf", "erfc", "sec", "csc", "cot", "coth", "sech", "csch", "log1p",
                 "expm1", "gamma", "lgamma"):
        ns[name] = m(name)
    ns["atan2"] = lambda a, b: arb.atan2(a, b)

    def ipow(x, k):  # arb's ** gives nan on a ball containing 0; repeated squaring does not
        k = int(k)
        out, base, e = arb(1), (x if isinstance(x, arb) else arb(x)), abs(k)
        while e:
            if e & 1:
                out = out * base
            base, e = base * base, e >> 1
        return out if k >= 0 else 1 / out

    ns["ipow"] = ipow
    return ns


_IPOW = sp.Function("ipow")
#: exp as an undefined function: printed as exp(...), and never rewritten back into c**x by SymPy
_EXP = sp.Function("exp")


def _integer_powers(expr):
    return expr.replace(lambda e: e.is_Pow and e.exp.is_Integer, lambda e: _IPOW(e.base, e.exp))


def _constant_base_powers(expr):
    """c**x (c a constant, x variable) -> exp(x*log(c)): a dual number has no variable exponent, exp takes one.

    >>> x = sp.Symbol("x")
    >>> _constant_base_powers(2**x + x**2)
    x**2 + exp(x*log(2))
    """
    return expr.replace(lambda e: e.is_Pow and e.base.is_number and not e.exp.is_number,
                        lambda e: _EXP(e.exp * sp.log(e.base)))


def _lambdify(args, expr, modules):
    """sp.lambdify with the arguments renamed _a0, _a1, ... first: lambdify puts every symbol of ``expr`` into
    the generated function's namespace by its name, so a user parameter or Gram entry named exp (vectors e and
    xp), tanh, mpf or e would shadow that function (dummify=True does not prevent it).

    >>> e = sp.Symbol("exp")
    >>> _lambdify([e], sp.exp(2 * e) + e, "math")(0.0)
    1.0
    """
    safe = [sp.Symbol(f"_a{i}") for i in range(len(args))]
    rename = dict(zip(args, safe))
    body = [sp.sympify(e).xreplace(rename) for e in expr] if isinstance(expr, list) else \
        sp.sympify(expr).xreplace(rename)
    return sp.lambdify(safe, body, modules=modules)


def _compile(expr, backend):
    library = "numpy" if backend is None else backend.library
    if library == "flint":
        return sp.lambdify(f, _integer_powers(expr), modules=[_arb_namespace(), "mpmath"])
    return sp.lambdify(f, expr, modules=library)


def _gmpy2_namespace():
    """The names SymPy's mpmath printer uses, as gmpy2 (MPFR) functions, for the context's precision: a compiled
    map then runs in MPFR numbers, ~10x faster than mpmath (0.16 us a multiply-add at 136 bits against 1.7 us,
    measured 2026-12-03).  + - x / and sqrt are correctly rounded in both, so at the same precision in bits a
    map of those operations gives mpmath's numbers bit for bit; MPFR's exp, log, tanh, ... are correctly
    rounded too, mpmath's only to within an ulp or so (measured: 1-3 of 3000 random exp, tanh, cosh differ in the
    last bit).  Sympy Floats arrive as mpf tuples (sign, man, exp, bc) and are built exactly; pi and e at the
    context's precision (so a namespace serves one precision).

    >>> import gmpy2
    >>> ns = _gmpy2_namespace()
    >>> with gmpy2.context(gmpy2.get_context(), precision=136):
    ...     v = ns["sqrt"](ns["mpf"](2)) * ns["mpf"]((0, 3, -1, 2))      # sqrt(2) * 3/2
    >>> with mpmath.workprec(136):
    ...     to_mpmath(v) == mpmath.sqrt(2) * mpmath.mpf(3) / 2
    True
    """
    import gmpy2

    def mpf(x):   # an mpf tuple, an mpmath number (both exactly, then rounded to the context), or a number
        if hasattr(x, "_mpf_"):
            x = x._mpf_
        if isinstance(x, tuple):
            sign, man, exp, _ = x
            if not man and exp:   # mpmath's inf, -inf, nan
                return gmpy2.mpfr(str(mpmath.mpf(x)))
            return gmpy2.mul_2exp(gmpy2.mpfr(-man if sign else man), exp)
        return gmpy2.mpfr(x)

    ns = {name: getattr(gmpy2, name) for name in ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh",
                                                   "asin", "acos", "atan", "asinh", "acosh", "atanh", "erf", "erfc",
                                                   "sec", "csc", "cot", "sech", "csch", "coth", "log1p", "expm1")}
    ns.update(mpf=mpf, pi=gmpy2.const_pi(), e=gmpy2.exp(1))
    return ns


def to_mpmath(v):
    """A gmpy2 number as the mpmath number of the same value, exactly (anything else through ``mpmath.mpf``).

    >>> import gmpy2
    >>> to_mpmath(gmpy2.mpfr(3) / 4), to_mpmath(2.5)
    (mpf('0.75'), mpf('2.5'))
    """
    import gmpy2
    if isinstance(v, type(gmpy2.mpfr(0))):
        if not gmpy2.is_finite(v):
            return mpmath.mpf(str(v))
        man, exp = v.as_mantissa_exp()
        with mpmath.workprec(max(53, int(man).bit_length())):
            return mpmath.mpf((int(man), int(exp)))
    return mpmath.mpf(v)


def _scalar_functions(backend):
    """The backend's elementary functions by the names SymPy's mpmath printer uses (for the dual-number oracle)."""
    names = ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin", "acos", "atan", "asinh",
             "acosh", "atanh", "erf", "erfc", "sec", "csc", "cot", "sech", "csch", "coth")
    if backend is None or backend.name == "float64":
        import math
        ns = {k: getattr(math, k) for k in names if hasattr(math, k)}
        ns.update(sec=lambda x: 1 / math.cos(x), csc=lambda x: 1 / math.sin(x), cot=lambda x: 1 / math.tan(x),
                  sech=lambda x: 1 / math.cosh(x), csch=lambda x: 1 / math.sinh(x), coth=lambda x: 1 / math.tanh(x))
        ns.update(mpf=float, pi=math.pi, e=math.e)
        return ns
    if backend.name == "mpmath":
        ns = {k: getattr(mpmath, k) for k in names}
        ns.update(mpf=mpmath.mpf, pi=mpmath.pi, e=mpmath.e)
        return ns
    return _arb_namespace()


def compile_output(model):
    """The output of a :class:`catapult.theory.gram.VectorModel` as a factory ``B -> out(*gram, *scalars, n)`` for
    :class:`catapult.numerics.gram_model.GramModel`: SymPy prints the output expression (no derivative of it),
    the oracle evaluates it on dual numbers with the backend's own functions.

    >>> from catapult.theory.model_file import user_model
    >>> from catapult.numerics.gram_model import GramModel
    >>> from catapult.numerics.backends import get_backend
    >>> vm = user_model("quad", "(dot(u, u) - n)/(2*sqrt(n))", vectors=("u",))
    >>> gm = GramModel(16, ("u",), (), compile_output(vm), seed=0, factory=True)
    >>> B = get_backend("arb", 40)
    >>> with B.context():
    ...     f, grads = gm.output_and_grads(gm.init(B), B)
    ...     print(B.to_mpf(B.dot(grads[0], grads[0])) == B.to_mpf(B.dot(gm.init(B)[0], gm.init(B)[0])) / 16)
    True
    """
    from catapult.numerics.dual import dual_namespace
    from itertools import combinations_with_replacement
    G = model.G
    args = [G[a, b] for a, b in combinations_with_replacement(model.params, 2)]
    args += [G[b] for b in model.scalars] + [SYMBOLS["n"]]
    outs = [_constant_base_powers(o) for o in model.outputs]
    expr = outs if len(outs) > 1 else outs[0]  # several outputs: a list

    def factory(backend):
        ns = dual_namespace(_scalar_functions(backend))  # integer powers of Duals: repeated multiplication
        return _lambdify(args, expr, [ns, "mpmath"])

    return factory


def _flint_prec():
    import flint
    return flint.ctx.prec


def numeric_loss(loss: Loss, **values) -> NumericLoss:
    """Numeric callables for ``loss`` with its parameters set to ``values`` (exact rationals where given so).

    >>> from catapult.theory import mse
    >>> L = numeric_loss(mse("y"), y=1)
    >>> L.bind(None)[1](3.0)
    2.0
    """
    reps = exact_params(values)  # strings parsed safely (catapult.theory.parse), floats as their short decimal
    value_expr, slope_expr = loss.expr.subs(reps), loss.d1.subs(reps)
    missing = (value_expr.free_symbols | slope_expr.free_symbols) - {f}
    if missing:
        raise ValueError(f"loss {loss.expr} needs values for: {', '.join(sorted(map(str, missing)))}")

    compiled = {}  # one compilation per arithmetic and precision (a run binds its loss once; scans bind hundreds)

    def factory(backend):
        library = "numpy" if backend is None else backend.library
        key = (library, _flint_prec()) if library == "flint" else library
        if key not in compiled:  # arb constants (pi, 1/3) are made at the precision current here: keyed by it
            compiled[key] = (_compile(value_expr, backend), _compile(slope_expr, backend))
        return compiled[key]

    return NumericLoss(str(value_expr), factory=factory)


def map_step(fmap, eta, n, **values):
    """The derived (f, lam) map as a plain mpmath callable ``step(state) -> state`` for catapult.numerics.reduced.

    ``eta`` and ``n`` (and loss parameters) are fixed numbers; the callable evaluates at the caller's precision.

    >>> from catapult.theory import derive
    >>> step = map_step(derive("uv", "mse"), eta=1, n=100)
    >>> s = step({"f": mpmath.mpf(1), "lam": mpmath.mpf(2)})
    >>> mpmath.nstr(s["f"], 10), mpmath.nstr(s["lam"], 10)
    ('-0.99', '1.98')
    """
    reps = {SYMBOLS["eta"]: eta, SYMBOLS["n"]: n}
    reps.update({SYMBOLS[k]: v for k, v in values.items()})
    syms = list(fmap.state)
    names = [str(s) for s in syms]
    consts = list(reps.values())
    fns = {k: _lambdify(syms + list(reps), v, "mpmath") for k, v in fmap.update.items()}

    def step(state):
        args = [state[nm] for nm in names] + [v if isinstance(v, mpmath.mpf) else mpmath.mpf(v) for v in consts]
        return {k: fn(*args) for k, fn in fns.items()}

    return step


class CompiledMap:
    """A derived reduced deep map compiled once for one arithmetic (``modules``: 'math', 'numpy', 'mpmath' or
    'gmpy2', the last at the precision of the caller's gmpy2 context, see :func:`_gmpy2_namespace`):

    * ``step(state, consts) -> (next_state, f, lam)`` -- ``state`` a list in ``dm.state`` order,
      ``consts = [eta, n, A, C, rho]``, ``f`` and ``lam`` those of the input state (the form
      :func:`catapult.numerics.reduced.run_map` iterates);
    * ``init(n)`` -- the initial state (alpha = (1, 0), M_l = sqrt(n) I, beta = (0, 1)) in that arithmetic;
    * ``slope(f)`` -- l'(f) of the map's loss (the gradient norm of the stop rule is |l'(f)| sqrt(lam)).

    Generated by ``sympy.lambdify(..., cse=True)`` from ``dm.update``, ``dm.f``, ``dm.lam``, ``dm.init``,
    ``dm.loss.d1``; nothing is retyped.
    """

    def __init__(self, dm, modules):
        from catapult.theory.deep import A, C, RHO
        from catapult.theory.symbols import eta, n
        names = [str(s) for s in dm.state]
        k = len(names)
        ns = _gmpy2_namespace() if modules == "gmpy2" else None   # built once: it computes pi and e
        mods = [ns, "mpmath"] if ns is not None else modules
        fn = sp.lambdify([dm.state, [eta, n, A, C, RHO]], [dm.update[nm] for nm in names] + [dm.f, dm.lam],
                         modules=mods, cse=True)
        self.dm, self.modules, self.names = dm, modules, names
        self._init = sp.lambdify([n], [dm.init[nm] for nm in names], modules=mods)
        self.slope = sp.lambdify(f, dm.loss.d1, modules=mods)
        self._num = ns["mpf"] if ns is not None else {"math": float, "mpmath": mpmath.mpf}.get(modules, lambda v: v)

        def step(state, consts):
            out = fn(state, consts)
            return out[:k], out[k], out[k + 1]
        self.step = step

    def init(self, n_value):
        return [self._num(v) for v in self._init(n_value)]

    def __repr__(self):
        return f"CompiledMap(L={self.dm.L}, loss={self.dm.loss.expr}, {self.modules})"


_COMPILED = {}


def compile_deep_map(dm, modules="mpmath") -> CompiledMap:
    """The :class:`CompiledMap` of a derived reduced deep map, compiled once per (map, arithmetic).

    >>> from catapult.theory.deep import derive_deep_map
    >>> cm = compile_deep_map(derive_deep_map(3), "math")
    >>> s = cm.init(100.0); s
    [1.0, 0.0, 0.0, 1.0, 10.0, 0.0, 0.0, 10.0]
    >>> cm.step(s, [0.5, 100.0, 100.0, 100.0, 10.0])[1:]     # f0 = 1, lam0 = L at the invariant init
    (1.0, 3.0)
    """
    if modules == "gmpy2":   # its constants (pi, e) are built at the context's precision
        import gmpy2
        key = (id(dm), modules, gmpy2.get_context().precision)
    else:
        key = (id(dm), modules)
    if key not in _COMPILED or _COMPILED[key].dm is not dm:
        if len(_COMPILED) >= 64:  # a few maps are in use at a time; the oldest compiled one goes
            del _COMPILED[next(iter(_COMPILED))]
        _COMPILED[key] = CompiledMap(dm, modules)
    return _COMPILED[key]


def deep_numeric(dm, eta_value, n_value, A_value, C_value, rho_value):
    """A derived deep map (:class:`catapult.theory.deep.DeepReducedMap`) as mpmath callables for given numbers:
    ``(step(state) -> state, observe(state) -> (f, lam), init() -> state)`` (exact map, no truncation).

    >>> from catapult.theory import derive
    >>> step, observe, init = deep_numeric(derive("deep", depth=2), 1, 100, 100, 100, 10)
    >>> [mpmath.nstr(v, 8) for v in observe(init())]
    ['1.0', '2.0']
    """
    from catapult.theory.deep import A, C, RHO
    eta_s, n_s = SYMBOLS["eta"], SYMBOLS["n"]
    consts = [eta_s, n_s, A, C, RHO]
    names = [str(s) for s in dm.state]
    fn = sp.lambdify([dm.state, consts], [dm.update[k] for k in names], modules="mpmath", cse=True)
    fx = sp.lambdify([dm.state, consts], [dm.f, dm.lam], modules="mpmath", cse=True)
    vals = [eta_value, n_value, A_value, C_value, rho_value]

    def conv(v):
        return v if isinstance(v, mpmath.mpf) else mpmath.mpf(v)

    def step(state):
        return dict(zip(names, fn([state[k] for k in names], [conv(v) for v in vals])))

    def observe(state):
        fv, lv = fx([state[k] for k in names], [conv(v) for v in vals])
        return fv, lv

    def init():
        return {k: conv(sp.N(v.subs({n_s: n_value}), mpmath.mp.dps + 10)) for k, v in dm.init.items()}
    return step, observe, init


def sample_step(sm, eta_value, n_value):
    """A derived many-sample map (:class:`catapult.theory.samples.SampleMap`, numeric data and labels) as an
    mpmath callable on a dict of invariants.

    Generated from the derived structure rather than the expanded expressions: with the derived coefficient
    matrices C_a (grad f_a = C_a theta), one step is G' = M G M^T, M = I - (eta/m) sum_a l'(f_a, y_a) C_a -- exact,
    O(m d^2 + d^3) per step.

    >>> from catapult.theory import derive
    >>> sm = derive("samples", m=1, d=1, X=[[1]], Y=[0])
    >>> s = sample_step(sm, 1, 100)({"u1u1": mpmath.mpf(100), "u1v": mpmath.mpf(10), "vv": mpmath.mpf(100)})
    >>> mpmath.nstr(s["u1v"] / 10, 8)           # f' = f (1 - eta lam + eta^2 f^2/n) with f = 1, lam = 2
    '-0.99'
    """
    from catapult.theory.errors import TheoryInputError
    from catapult.theory.samples import _split
    if sm.X.free_symbols or any(getattr(v, "free_symbols", set()) for v in sm.Y):
        raise TheoryInputError("sample_step needs numeric data and labels")
    n_s, y_s = SYMBOLS["n"], SYMBOLS["y"]
    k = len(sm.params)
    Cs = [sp.lambdify([n_s], Cm, modules="mpmath") for Cm in sm.coeff_mats]
    outs = sp.lambdify([sm.state, n_s], sm.outputs, modules="mpmath")
    slope = [sp.lambdify([f], sm.loss.d1.subs(y_s, sm.Y[a]), modules="mpmath") for a in range(sm.m)]
    index = {(i, j): (a + b) if i <= j else (b + a) for i, a in enumerate(sm.params) for j, b in enumerate(sm.params)}
    where = {str(x): (sm.params.index(_split(str(x))[0]), sm.params.index(_split(str(x))[1])) for x in sm.state}

    def step(state):
        nv = mpmath.mpf(n_value)
        ev = eta_value if isinstance(eta_value, mpmath.mpf) else mpmath.mpf(eta_value)
        G = mpmath.matrix(k, k)
        for (i, j), name in index.items():
            G[i, j] = state[name]
        fs = outs([state[str(x)] for x in sm.state], nv)
        M = mpmath.eye(k)
        for a in range(sm.m):
            M -= (ev / sm.m) * slope[a](fs[a]) * mpmath.matrix(Cs[a](nv).tolist())
        Gn = M * G * M.T
        return {name: Gn[i, j] for name, (i, j) in where.items()}
    return step


def mp_function(expr, var=f):
    """``expr`` (in ``var``) as an mpmath callable, e.g. a loss's l''(f) evaluated at a run's final f.

    >>> mp_function(sp.Symbol("f", real=True) ** 2)(mpmath.mpf(3))
    mpf('9.0')
    """
    return sp.lambdify(var, expr, "mpmath")


def _arb_fn(args, expr, cse=True):
    """``expr`` (or a list of them) in ``args`` as a python-flint ball callable (integer powers as products:
    python-flint #426, a power of a ball straddling 0 is nan)."""
    body = [_integer_powers(sp.sympify(e)) for e in expr] if isinstance(expr, list) else _integer_powers(expr)
    return sp.lambdify(args, body, modules=[_arb_namespace(), "mpmath"], cse=cse)


def _as_ball(fn):
    import flint

    def call(*a):
        r = fn(*a)
        return r if isinstance(r, flint.arb) else flint.arb(r)
    return call


def _interval_region(lemma, state, consts, obs):
    """The escape interval of :func:`catapult.theory.certificates.escape_interval_lemma` as a Region: at an
    enclosure Z, X = the lower bound of |f(Z)| (exact), and the balls to prove >= 0 are X itself (> 0) and every
    certificate coefficient at X."""
    import flint
    from catapult.numerics.certify import ESCAPE_INTERVAL, Region
    from catapult.theory.certificates import X_SYM
    coeffs = _arb_fn([[X_SYM], consts], lemma.plus + lemma.minus)

    def test(z, c):
        X = flint.arb(abs(obs(z, c)[0]).lower())
        return [X] + list(coeffs([X], c))
    return Region(ESCAPE_INTERVAL, lemma.statement, test, (True,) + (False,) * (len(lemma.plus) + len(lemma.minus)))


def ball_map(rmap, consts):
    """A derived reduced map (uv, deep, a user model's function-space map) as a
    :class:`catapult.numerics.certify.BallMap` with the lemma ingredients of :mod:`catapult.theory.certificates`
    compiled to python-flint balls; ``consts`` the symbols of its constants in the order the caller will give
    their values (e.g. ``[eta, n]``, deep ``[eta, n, A, C, rho]``).  A lemma that is not derived is absent, with
    its reason in ``reasons``.

    >>> from catapult.theory import derive
    >>> from catapult.theory.symbols import eta, n
    >>> bm = ball_map(derive("uv", "mse"), [eta, n])
    >>> bm.escape.name, bm.trap.name, bm.reasons
    ('escape cone', 'monotone trap', {})
    >>> sorted(ball_map(derive("deep", depth=2), [eta, n] + sorted(derive("deep", depth=2).constants, key=str)).reasons)
    ['escape', 'trap']
    """
    from catapult.numerics.certify import ESCAPE, TRAP, BallMap, Region
    from catapult.theory.certificates import (U_SYM, W_SYM, escape_interval_lemma, escape_lemma, residual_lemma,
                                              trap_lemma)
    from catapult.theory.reduce import SLOPE
    state, consts = list(rmap.state), list(consts)
    names = [str(s) for s in state]
    step = _arb_fn([state, consts], [rmap.update[k] for k in names])
    obs = _arb_fn([state, consts], [rmap.observables["f"], rmap.observables["lam"]])
    slope = _as_ball(_arb_fn([f], rmap.loss.d1, cse=False))
    curv = _as_ball(_arb_fn([f], rmap.loss.d2, cse=False))
    reasons = {}
    res = residual_lemma(rmap)
    E = drift = None
    if res.reason:
        reasons["contraction"] = res.reason
    else:
        E = _as_ball(_arb_fn([state, SLOPE, consts], res.E))
        dr = _arb_fn([state, SLOPE, consts], [res.drift.get(k, sp.S.Zero) for k in names])
        slaved = [k in res.slaved for k in names]   # no drift: left out of the lemma's box (numerics.certify)
        drift = lambda z, s, c: [None if sl else x if hasattr(x, "mid") else _as_ball(lambda: x)()
                                 for x, sl in zip(dr(z, s, c), slaved)]
    esc, trap = escape_lemma(rmap), trap_lemma(rmap)
    escape = trap_region = None
    if esc.reason:
        interval = escape_interval_lemma(rmap)
        if interval.reason:
            reasons["escape"] = f"{esc.reason}; {interval.reason}"
        else:
            escape = _interval_region(interval, state, consts, obs)
    else:
        g = _arb_fn([state, consts], [esc.u - esc.U, esc.w - esc.k * esc.u])
        escape = Region(ESCAPE, esc.statement, lambda z, c: g(z, c))
    if trap.reason:
        reasons["trap"] = trap.reason
    else:
        inv = trap.invariant.subs({U_SYM: trap.u, W_SYM: trap.w}, simultaneous=True)
        g2 = _arb_fn([state, consts], [trap.U_star - trap.u, trap.u, inv])
        trap_region = Region(TRAP, trap.statement, lambda z, c: g2(z, c), (True, False, False))
    n_at = consts.index(SYMBOLS["n"]) if SYMBOLS["n"] in consts else None
    return BallMap(names, lambda z, c: step(z, c), lambda z, c: tuple(obs(z, c)), slope, curv, E, drift, escape,
                   trap_region, reasons, scale=None if n_at is None else (lambda c: c[n_at].sqrt()))


def _lam_max(T):
    """An enclosure of the largest eigenvalue of a symmetric ball matrix (python-flint ``arb_mat.eig``; repeated
    eigenvalues with ``multiple=True``): the union of [max lower bound, max upper bound] of the real parts."""
    import flint
    try:
        ev = T.eig()
    except ValueError:
        ev = T.eig(multiple=True)
    re = [e.real for e in ev]
    return flint.arb(max(r.lower() for r in re)).union(flint.arb(max(r.upper() for r in re)))


def sample_ball_map(smap, consts):
    """A many-sample map (:class:`catapult.theory.samples.SampleMap`, numeric data and labels) or a map of a model
    with several outputs (:class:`catapult.theory.multi_output.MultiOutputMap`, one loss for each) as a
    :class:`catapult.numerics.certify.BallMap` with the vector residual-contraction lemma
    (:func:`catapult.theory.certificates.vector_residual_lemma`); ``observe`` gives (f_1, lam_max(Theta)).  No
    escape lemma or trap is derived for several outputs (their reasons say so).

    >>> import flint
    >>> from catapult.theory.samples import derive_sample_map
    >>> from catapult.theory.symbols import eta, n
    >>> bm = sample_ball_map(derive_sample_map(2, 1, X=[[1], [2]], Y=[0, 1]), [eta, n])
    >>> z = [flint.arb(v) for v in (16, 8, 16)]            # u1u1, u1v, vv at n = 16
    >>> [float(x.mid()) for x in bm.observe(z, [flint.arb(0.5), flint.arb(16)])], sorted(bm.reasons)
    ([2.0, 5.0], ['escape', 'trap'])
    """
    import flint
    from catapult.numerics.certify import BallMap, VectorResidual
    from catapult.theory.certificates import output_system, vector_residual_lemma
    state, consts = list(smap.state), list(consts)
    names = [str(s) for s in state]
    outputs, ntk, _ = output_system(smap)
    m = len(outputs)
    step = _arb_fn([state, consts], [smap.update[k] for k in names])
    outs = _arb_fn([state, consts], outputs)
    theta = _arb_fn([state, consts], [ntk[a, b] for a in range(m) for b in range(m)])

    def observe(z, c):
        return outs(z, c)[0], _lam_max(flint.arb_mat(m, m, theta(z, c)))
    reasons = {"escape": "no escape lemma is derived for several outputs",
               "trap": "no monotone trap is derived for several outputs"}
    lemma = vector_residual_lemma(smap)
    vector = None
    if lemma.reason:
        reasons["contraction"] = lemma.reason
    else:
        s = lemma.slope_symbols
        E = _arb_fn([state, s, consts], [e for row in lemma.E for e in row])
        D = _arb_fn([state, s, consts], [d for k in names for d in lemma.drift[k]])
        ball = lambda x: x if isinstance(x, flint.arb) else flint.arb(x)   # noqa: E731 (constants come back as numbers)
        vector = VectorResidual(
            lambda z, c: [ball(x) for x in outs(z, c)],
            [_as_ball(_arb_fn([f], e, cse=False)) for e in lemma.slopes],
            [_as_ball(_arb_fn([f], e, cse=False)) for e in lemma.curvatures],
            lambda z, sv, c: [[ball(x) for x in row] for row in _rows(E(z, sv, c), m)],
            lambda z, sv, c: [[ball(x) for x in row] for row in _rows(D(z, sv, c), m)])
    n_at = consts.index(SYMBOLS["n"]) if SYMBOLS["n"] in consts else None
    return BallMap(names, lambda z, c: step(z, c), observe, None, None, reasons=reasons,
                   scale=None if n_at is None else (lambda c: c[n_at].sqrt()), vector=vector)


def _rows(flat, m):
    return [list(flat[i:i + m]) for i in range(0, len(flat), m)]
