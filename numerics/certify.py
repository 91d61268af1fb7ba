"""Proven verdicts of reduced maps: ball arithmetic (python-flint arb) from exact eta and init, and four lemmas.

A map here is a :class:`BallMap` of plain callables on lists of ``flint.arb`` balls (compiled from a derived map
by :mod:`catapult.verify.bridge`; this module never sees SymPy).  :func:`certify_orbit` iterates the enclosure of
the exact orbit and stops when a lemma proves the rest of it:

* **residual contraction** (``converged``).  Let rho(z) = l'(f(z)) and suppose, on a box B,
  (i) |rho(F z)| <= q |rho(z)| with q < 1 (bounded by the interval enclosure of 1 + l''(H) E(B, rho(B)),
  H the hull of f(B) and f(F B), by the mean value theorem), (ii) |F_i(z) - z_i| <= K_i |rho(z)| (K_i bounds
  |D_i| over B), and (iii) the enclosure Z_T of z_T widened by K_i R/(1 - q) (R >= |rho(z_T)|) lies in B.
  Then, by induction, z_t stays in B, |rho(z_t)| <= q^(t-T) R and sum_t |z_(t+1) - z_t| <= K R/(1 - q): z_t
  converges to a point z* of that widened box with rho(z*) = 0 and F(z*) = z* -- a stationary point of the loss
  (its minimum for a convex loss).  A manifold of fixed points (uv: f = 0, any lam) needs no isolated z*.
  A *slaved* coordinate (its drift None: it moves even when rho = 0, but its update depends on the moving
  coordinates and rho only, and neither they nor f depend on it, e.g. lam = 1 + 2 f/sqrt(n) of a model whose
  NTK is a function of f) is left out of B; it converges with them, z_(k,t+1) = F_k(z_t) -> F_k(z*).
* **escape cone** (``divergent``): a derived region E, proven forward invariant with |f'| >= Q |f|, Q > 1
  (:class:`Region`; :mod:`catapult.theory.certificates`); once Z_T lies in E, |f_t| >= Q^(t-T) |f_T| -> oo.
  The **escape interval** (``divergent``) is its one-dimensional form for maps in which f moves alone:
  E = {|f| >= X} with X the lower bound of |f(Z_T)|.
* **monotone trap** (``converged``): a derived region T in which eta*lam decreases, stays >= 0 and
  sum_t eta^2 f_t^2/n is finite; once Z_T lies in T, f_t -> 0 and lam_t converges.

``undetermined`` otherwise, with the reason: the budget ran out, or the balls got too wide (then
:func:`certify` retries at twice the precision), or the enclosure only proves the runaway bound
|f| > ``runaway`` sqrt(n) of :class:`catapult.numerics.stop.StopRule` (a measured criterion) without an
escape lemma.  Powers of balls straddling 0 are products (python-flint #426).

Examples
========
The uv map, typed in here only as an example of callables (its lemma ingredients derived by hand):

>>> from fractions import Fraction
>>> bm = BallMap(["f", "lam"],
...     step=lambda z, c: [z[0] * (1 - c[0] * z[1] + c[0] * c[0] * z[0] * z[0] / c[1]),
...                        z[1] + c[0] * z[0] * z[0] / c[1] * (c[0] * z[1] - 4)],
...     observe=lambda z, c: (z[0], z[1]), slope=lambda f: f, curvature=lambda f: f * 0 + 1,
...     E=lambda z, s, c: c[0] * c[0] * z[0] * s / c[1] - c[0] * z[1],
...     drift=lambda z, s, c: [c[0] * c[0] * z[0] * s / c[1] - c[0] * z[1], c[0] * z[0] * (c[0] * z[1] - 4) / c[1]])
>>> v = certify(bm, lambda: [1, 2], lambda: [Fraction(1, 2), 100], steps=500, dps=30)
>>> v.verdict, v.proof, v.steps, v.enclosures["f"]
('converged', 'residual contraction', 0, (1.0, 0.0))
>>> lam_inf = v.limit["lam"]; abs(lam_inf[0] - 1.985) < lam_inf[1] < 0.1      # proven at once, on a wide box
True
>>> r = certify(bm, lambda: [1, 2], lambda: [Fraction(1, 2), 100], steps=500, dps=30, refine=True)
>>> lam_inf = r.limit["lam"]; abs(lam_inf[0] - 1.985) < 1e-3 and lam_inf[1] < 1e-15, r.details["limit_by"]
(True, 'residual contraction at step 7')
"""

from __future__ import annotations

import fractions
from dataclasses import dataclass, field

import mpmath

#: the verdict names
CONVERGED, DIVERGENT, UNDETERMINED = "converged", "divergent", "undetermined"
#: proof kinds (the lemma's name)
CONTRACTION, ESCAPE, TRAP = "residual contraction", "escape cone", "monotone trap"
ESCAPE_INTERVAL = "escape interval"
#: the theorems of the residual-contraction verdicts (one output; several outputs)
SCALAR_STATEMENT = ("residual contraction: on a box B with |rho(F z)| <= q |rho(z)|, q < 1, and |F(z) - z| <= "
                    "K |rho(z)|, an orbit entering B widened by K R/(1-q) converges to a fixed point with rho = l'(f) "
                    "= 0")
VECTOR_STATEMENT = ("vector residual contraction: with the residuals s = (l'_a(f_a))_a and y = P^-1 s, on a box B "
                    "with ||P^-1 M P||_inf <= q < 1 (s' = M s by the mean value theorem) and |F(z) - z| <= K "
                    "||y||_inf, an orbit entering B widened by K R/(1-q) converges to a fixed point where every "
                    "residual is 0 (l'_a(f_a) = 0 for every sample or output)")
RUNAWAY = "runaway bound only"


def _flint():
    import flint
    return flint


def ball(x):
    """``x`` (int, Fraction, decimal string, float, mpmath number or arb) as an arb ball at the current
    precision, enclosing the exact value.

    >>> import flint
    >>> ball(fractions.Fraction(1, 3)).contains(flint.arb(1) / 3), ball(2.5).rad() == 0
    (True, True)
    """
    arb = _flint().arb
    if isinstance(x, arb):
        return x
    if isinstance(x, fractions.Fraction):
        return arb(x.numerator) / arb(x.denominator)
    if isinstance(x, mpmath.mpf):
        sign, man, exp, _ = x._mpf_
        return arb(((-1) ** sign * int(man), int(exp))) if man else arb(0)
    if isinstance(x, str):
        return ball(fractions.Fraction(x))
    return arb(x)


def mid_rad(x) -> tuple:
    """A ball as (midpoint, radius) python floats (inf/nan when it is not finite).

    >>> import flint
    >>> mid_rad(flint.arb(1, 0.5))[0]
    1.0
    """
    return float(x.mid()), float(x.rad())


@dataclass
class Region:
    """A derived region: ``test(state, consts)`` gives balls g_j that must be proven >= 0 (> 0 where ``strict``)
    for the state's enclosure to lie inside; ``statement`` is the lemma proven for it.

    >>> import flint
    >>> r = Region("demo", "x >= 1", lambda z, c: [z[0] - 1])
    >>> r.holds([flint.arb(2)], []), r.holds([flint.arb(1, 2)], [])
    (True, False)
    """

    name: str
    statement: str
    test: object
    strict: tuple = ()

    def holds(self, state, consts) -> bool:
        gs = self.test(state, consts)
        strict = self.strict or (False,) * len(gs)
        return all(g.is_finite() and (g > 0 if s else g >= 0) for g, s in zip(gs, strict))


@dataclass
class VectorResidual:
    """The vector residual-contraction ingredients of a map with several outputs (many samples) as ball callables:
    ``outputs(z, c)`` the f_a, ``slopes[a]`` / ``curvatures[a]`` l'_a and l''_a, ``E(z, s, c)`` the m x m matrix
    with f_a(F z) - f_a(z) = sum_b s_b E_ab, ``drift(z, s, c)`` per coordinate the m coefficients D_ia with
    F_i(z) - z_i = sum_a s_a D_ia (s the list of slopes)."""

    outputs: object
    slopes: list
    curvatures: list
    E: object
    drift: object

    def residuals(self, Z, c):
        return [sl(fa) for sl, fa in zip(self.slopes, self.outputs(Z, c))]


@dataclass
class BallMap:
    """A reduced map as ball callables (state and consts lists of arb): ``step(z, c)`` the next state,
    ``observe(z, c)`` -> (f, lam), ``slope(f)`` = l'(f), ``curvature(f)`` = l''(f), ``E(z, s, c)`` and
    ``drift(z, s, c)`` the residual-contraction ingredients (f(F z) - f(z) = s E, F_i(z) - z_i = s D_i, s = l'(f));
    ``escape`` and ``trap`` optional :class:`Region` s; ``reasons`` say why a lemma is missing; ``scale(c)`` the
    nonlinear scale of f (sqrt(n)) for the runaway bound."""

    names: list
    step: object
    observe: object
    slope: object
    curvature: object
    E: object = None
    drift: object = None
    escape: Region | None = None
    trap: Region | None = None
    reasons: dict = field(default_factory=dict)
    scale: object = None
    vector: VectorResidual | None = None


@dataclass
class Verdict:
    """A certified verdict: ``verdict`` (converged, divergent, undetermined), the ``proof`` kind (the lemma's
    name; None when undetermined), ``reason``, the step ``steps`` at which the lemma applied, the precision
    (``dps``, ``bits``), ``enclosures`` {coordinate or f, lam: (midpoint, radius)} at that step, ``limit`` (the
    enclosure of the limit proven by the lemma, where it gives one), ``details`` (q, R, ...) and ``attempts``
    (every precision tried, with its verdict and reason).

    >>> Verdict("undetermined", None, "budget", 10, 30, 103).to_json()["verdict"]
    'undetermined'
    """

    verdict: str
    proof: str | None
    reason: str
    steps: int
    dps: int
    bits: int
    enclosures: dict = field(default_factory=dict)
    statement: str = ""
    limit: dict = field(default_factory=dict)
    retry: bool = False
    details: dict = field(default_factory=dict)
    attempts: list = field(default_factory=list)    # undetermined for lack of precision (worth a retry at more digits)

    @property
    def divergent(self):
        """True (divergent proven), False (convergence proven) or None (undetermined)."""
        return {CONVERGED: False, DIVERGENT: True}.get(self.verdict)

    def to_json(self) -> dict:
        """Plain JSON: enclosures as {"mid", "rad"} floats."""
        def pairs(d):
            return {k: {"mid": v[0], "rad": v[1]} for k, v in d.items()}
        return {"verdict": self.verdict, "proof": self.proof, "theorem": self.statement, "reason": self.reason,
                "steps": self.steps, "dps": self.dps, "bits": self.bits, "enclosures": pairs(self.enclosures),
                "limit": pairs(self.limit), "details": dict(self.details),
                "attempts": [dict(a) for a in self.attempts], "exactness": "proven (ball arithmetic)"}


def _widen(z, r):
    return z + _flint().arb(0, r)


def contraction(bm: BallMap, Z, c, rounds=8):
    """The residual-contraction lemma (module docstring) at the enclosure ``Z``: a dict with q, R, K and the
    enclosure ``limit`` of the limit point when it is proven on a box B around Z, else None.  The box is found by
    iterating B <- Z widened by twice the drift budget K(B) R/(1 - q(B)) (``rounds`` times at most), starting from
    Z widened by 2 |D(Z)| R.

    >>> import flint
    >>> bm = BallMap(["x"], None, lambda z, c: (z[0], z[0]), lambda f: f, lambda f: f * 0 + 1,
    ...              E=lambda z, s, c: z[0] * 0 - c[0], drift=lambda z, s, c: [z[0] * 0 - c[0]])
    >>> contraction(bm, [flint.arb(1)], [flint.arb(0.5)])["q"]    # x' = x/2
    0.5
    >>> contraction(bm, [flint.arb(1)], [flint.arb(2.5)]) is None  # x' = -1.5 x: no contraction
    True
    """
    if bm.vector is not None:
        return _vector_contraction(bm, Z, c, rounds)
    f, _ = bm.observe(Z, c)
    R = bm.slope(f).abs_upper()
    if not R.is_finite():
        return None
    moving = [d is not None for d in bm.drift(Z, bm.slope(f), c)]   # None: a slaved coordinate (see below)
    widen = [2 * d.abs_upper() * R if m else None for d, m in zip(bm.drift(Z, bm.slope(f), c), moving)]
    for _ in range(int(rounds)):
        B = [_widen(z, r + 2 * z.rad()) if m else z for z, r, m in zip(Z, widen, moving)]
        if not all(b.is_finite() for b, m in zip(B, moving) if m):
            return None
        fB, _ = bm.observe(B, c)
        sB = bm.slope(fB)
        EB = bm.E(B, sB, c)
        H = fB.union(fB + sB * EB)
        q = (1 + bm.curvature(H) * EB).abs_upper()
        if not (q < 1):
            return None
        K = [d.abs_upper() if m else None for d, m in zip(bm.drift(B, sB, c), moving)]
        need = [(k_ * R / (1 - q)).abs_upper() if m else None for k_, m in zip(K, moving)]
        limit = [_widen(z, r) if m else z for z, r, m in zip(Z, need, moving)]
        if all(b.contains(x) for b, x, m in zip(B, limit, moving) if m):
            if not all(moving):   # slaved coordinates: their next value is F_k(z) of the moving ones, so their limit
                nxt = bm.step(limit, c)   # is F_k(z*, l'(f(z*))), enclosed by F_k on the limit box
                limit = [x if m else y for x, y, m in zip(limit, nxt, moving)]
            return {"q": float(q.upper()), "R": float(R.upper()),
                    "K": [float(x.upper()) if m else None for x, m in zip(K, moving)], "limit": limit, "box": B}
        widen = [2 * r if m else None for r, m in zip(need, moving)]
    return None


def _preconditioner(M):
    """An exact matrix P (arb_mat from floats) whose columns are the real eigenvectors of the float midpoint of the
    ball matrix M, and its enclosed inverse; the identity when they are not real or not well conditioned."""
    import numpy as np
    flint = _flint()
    m = len(M)
    mid = np.array([[float(x.mid()) for x in row] for row in M])
    eye = flint.arb_mat(m, m, [1 if i == j else 0 for i in range(m) for j in range(m)])
    try:
        w, V = np.linalg.eig(mid)
    except np.linalg.LinAlgError:
        return eye, eye
    if np.iscomplexobj(w) and np.abs(np.imag(w)).max() > 0 or not np.all(np.isfinite(V)) or np.linalg.cond(V) > 1e8:
        return eye, eye
    P = flint.arb_mat(m, m, [float(np.real(x)) for x in V.ravel()])
    try:
        return P, P.inv()
    except ZeroDivisionError:
        return eye, eye


def _vector_contraction(bm, Z, c, rounds=8):
    """:func:`contraction` for several outputs (the vector residual s = (l'_a(f_a))_a): in coordinates y = P^-1 s
    (P from :func:`_preconditioner` at Z), by the mean value theorem per output s' = M s with
    M_ab = delta_ab + l''_a(xi_a) E_ab, xi_a in the hull H_a of f_a(B) and f_a(B) + sum_b s_b E_ab; if
    q = ||P^-1 M(B) P||_inf < 1 then ||y_(t+1)||_inf <= q ||y_t||_inf, and |F_i(z) - z_i| <= K_i ||y||_inf with
    K_i = sum_a |D_ia(B)| sum_b |P_ab|: the same induction as the scalar lemma."""
    flint = _flint()
    vr = bm.vector
    m = len(vr.slopes)
    s = vr.residuals(Z, c)
    M0 = [[(1 if a == b else 0) + vr.curvatures[a](fa) * e for b, e in enumerate(row)]
          for a, (fa, row) in enumerate(zip(vr.outputs(Z, c), vr.E(Z, s, c)))]
    P, Pinv = _preconditioner(M0)
    yv = Pinv * flint.arb_mat(m, 1, s)
    R = max((yv[a, 0].abs_upper() for a in range(m)), key=lambda x: x.upper())
    if not R.is_finite():
        return None
    prow = [sum((P[a, b].abs_upper() for b in range(m)), flint.arb(0)) for a in range(m)]

    def budget(B, sB):
        return [sum((d.abs_upper() * pa for d, pa in zip(ds, prow)), flint.arb(0)) for ds in vr.drift(B, sB, c)]
    widen = [2 * k_ * R for k_ in budget(Z, s)]
    for _ in range(int(rounds)):
        B = [_widen(z, r + 2 * z.rad()) for z, r in zip(Z, widen)]
        if not all(b.is_finite() for b in B):
            return None
        fB = vr.outputs(B, c)
        sB = [sl(fa) for sl, fa in zip(vr.slopes, fB)]
        EB = vr.E(B, sB, c)
        H = [fa.union(fa + sum((sb * e for sb, e in zip(sB, row)), flint.arb(0))) for fa, row in zip(fB, EB)]
        MB = flint.arb_mat(m, m, [(1 if a == b else 0) + vr.curvatures[a](H[a]) * EB[a][b]
                                  for a in range(m) for b in range(m)])
        T = Pinv * MB * P
        q = max((sum((T[a, b].abs_upper() for b in range(m)), flint.arb(0)) for a in range(m)),
                key=lambda x: x.upper())
        if not (q < 1):
            return None
        K = budget(B, sB)
        need = [(k_ * R / (1 - q)).abs_upper() for k_ in K]
        limit = [_widen(z, r) for z, r in zip(Z, need)]
        if all(b.contains(x) for b, x in zip(B, limit)):
            return {"q": float(q.upper()), "R": float(R.upper()), "K": [float(x.upper()) for x in K],
                    "limit": limit, "box": B}
        widen = [2 * r for r in need]
    return None


def _enclosures(bm, Z, c):
    if bm.vector is not None:   # several outputs f1..fm, then the coordinates
        out = {f"f{a + 1}": mid_rad(fa) for a, fa in enumerate(bm.vector.outputs(Z, c))}
        out.update({name: mid_rad(z) for name, z in zip(bm.names, Z)})
        return out
    f, lam = bm.observe(Z, c)
    out = {"f": mid_rad(f), "lam": mid_rad(lam)}
    out.update({name: mid_rad(z) for name, z in zip(bm.names, Z) if name not in out})
    return out


def _too_wide(Z, tol):
    return any(not z.is_finite() or z.rad() > tol * (1 + abs(z.mid())) for z in Z)


def certify_orbit(bm: BallMap, init, consts, *, steps, bits, runaway=1e8, max_rel_radius=1e-3,
                  refine=False) -> Verdict:
    """Iterate the enclosure of the orbit from ``init()`` with ``consts()`` (callables giving exact numbers or balls,
    evaluated at ``bits`` bits) for at most ``steps`` steps, checking the lemmas (module docstring) on the way.

    An enclosure wider than ``max_rel_radius`` (relative to 1 + |midpoint|) stops it (undetermined,
    ``retry=True``); one proving |f| > ``runaway`` scale without an escape lemma stops it too (proof kind
    ``runaway bound only``: the stop rule's runaway criterion is proven, divergence is not).  ``refine``: once
    convergence is proven, go on iterating (within the budget) until residual contraction encloses the limit to
    relative 10^(-dps/2) (the verdict keeps the step of its first proof; ``details['limit_by']`` the later step).
    (Over 60 lines: the one loop checks every lemma in order on the same enclosure; split, it would pass six
    pieces of state between the parts.)"""
    flint = _flint()
    dps = mpmath.libmp.prec_to_dps(bits)
    old = flint.ctx.prec
    flint.ctx.prec = bits
    try:
        c = [ball(x) for x in consts()]
        Z = [ball(x) for x in init()]
        gap, next_check, trapped = 1, 0, None
        scale = bm.scale(c) if bm.scale is not None else flint.arb(1)

        def done(verdict, proof, reason, t, statement="", **kw):
            encl = _enclosures(bm, Z, c) if all(z.is_finite() for z in Z) else {}
            return Verdict(verdict, proof, reason, t, dps, bits, encl, statement=statement, **kw)
        for t in range(int(steps) + 1):
            if _too_wide(Z, max_rel_radius):
                if trapped is not None:
                    return trapped
                return done(UNDETERMINED, None, f"the enclosure got too wide at step {t} (relative radius > "
                            f"{max_rel_radius:g} at {bits} bits)", t, retry=True)
            if trapped is None and bm.trap is not None and bm.trap.holds(Z, c):
                trapped = done(CONVERGED, TRAP, f"the enclosure lies in the trap region at step {t}", t,
                               bm.trap.statement)
                if not refine or bm.E is None:
                    return trapped
            if trapped is not None:
                pass
            elif bm.escape is not None and bm.escape.holds(Z, c):
                return done(DIVERGENT, bm.escape.name, f"the enclosure lies in the {bm.escape.name} at step {t}", t,
                            bm.escape.statement)
            if (bm.E is not None or bm.vector is not None) and t >= next_check:
                res = contraction(bm, Z, c)
                if res is None:
                    next_check, gap = t + gap, min(2 * gap, 64)
                else:
                    if trapped is None:
                        trapped = done(CONVERGED, CONTRACTION, f"residual contraction proven on a box at step {t}", t,
                                       VECTOR_STATEMENT if bm.vector is not None else SCALAR_STATEMENT)
                    trapped.limit = _enclosures(bm, res["limit"], c)
                    trapped.details = {"limit_by": f"{CONTRACTION} at step {t}", **{k: res[k] for k in ("q", "R", "K")}}
                    if not refine or not _too_wide(res["limit"], 10.0 ** (-dps / 2)):
                        return trapped
                    next_check, gap = t + 1, 1
            fs = bm.vector.outputs(Z, c) if bm.vector is not None else [bm.observe(Z, c)[0]]
            if trapped is None and bm.escape is None and any(abs(f) > runaway * scale for f in fs):
                return done(UNDETERMINED, RUNAWAY, f"the enclosure proves |f| > {runaway:g} sqrt(n) (the stop rule's "
                            f"runaway criterion) at step {t}; no escape lemma for this map "
                            f"({bm.reasons.get('escape', 'not derived')}): divergence is not proven", t)
            if t < int(steps):
                Z = bm.step(Z, c)
        if trapped is not None:
            return trapped
        return done(UNDETERMINED, None, f"no lemma applied within {steps} steps", int(steps))
    finally:
        flint.ctx.prec = old


def certify(bm: BallMap, init, consts, *, steps, dps=30, retries=3, runaway=1e8, refine=False) -> Verdict:
    """:func:`certify_orbit` at ``dps`` digits, retried at twice the digits (at most ``retries`` times) while the
    enclosure gets too wide (with ``refine``: also while the limit's enclosure is wider than relative 10^(-dps/2));
    ``attempts`` lists every precision tried.  (A certified verdict needs no second
    precision to agree with: each one is proven; the retries only look for one.)"""
    attempts = []
    bits = mpmath.libmp.dps_to_prec(int(dps))
    for _ in range(int(retries) + 1):
        v = certify_orbit(bm, init, consts, steps=steps, bits=bits, runaway=runaway, refine=refine)
        attempts.append({"dps": v.dps, "verdict": v.verdict, "proof": v.proof, "reason": v.reason})
        loose = refine and v.verdict == CONVERGED and (not v.limit or any(
            r > 10.0 ** (-v.dps / 2) * (1 + abs(m)) for m, r in v.limit.values()))
        if not (v.retry or loose):
            break
        bits *= 2
    v.attempts = attempts
    return v


def certified_bracket(verdict_at, lo, hi, rtol, *, criterion, tries=3, accept_runaway=False):
    """A threshold bracket in x (exact rationals) between a proven convergent ``lo`` and a proven divergent
    ``hi``, from :func:`catapult.numerics.bracket.straddle` and :func:`catapult.numerics.bracket.bisect`, with
    ``verdict_at(x) -> Verdict``.  ``accept_runaway``: an end whose enclosure proves the runaway bound (not
    divergence) counts as the upper end (then ``extra['hi_proves']`` says so).  The ends' verdicts are in
    ``extra['proof_lo']``, ``extra['proof_hi']``.

    >>> from fractions import Fraction as Fr
    >>> V = lambda x: Verdict("divergent" if x > Fr(1, 3) else "converged", "demo", "", 0, 30, 103)
    >>> b = certified_bracket(V, Fr(0), Fr(1), 1e-6, criterion="demo")
    >>> b.lo <= Fr(1, 3) < b.hi, float(b.hi - b.lo) <= 1e-6
    (True, True)
    """
    from .bracket import bisect, straddle
    seen = {}

    def pred(x):
        if x not in seen:
            seen[x] = verdict_at(x)
        v = seen[x]
        if accept_runaway and v.proof == RUNAWAY:
            return True
        return v.divergent
    lo, hi, evals, (va, vb) = straddle(pred, lo, hi, tries=tries)
    if not (va is False and vb is True):
        from .bracket import Bracket
        return Bracket(lo, hi, va, vb, criterion, [], evals, False,
                       notes=[f"the ends are not proven convergent and divergent: {seen[lo].reason}; "
                              f"{seen[hi].reason}"], extra={"proof_lo": seen[lo].to_json(),
                                                             "proof_hi": seen[hi].to_json()})
    b = bisect(pred, lo, hi, rtol, criterion=criterion, precision="arb (proven)")
    b.iterations += evals
    b.extra = {"proof_lo": seen[b.lo].to_json(), "proof_hi": seen[b.hi].to_json(),
               "hi_proves": seen[b.hi].proof}
    return b
