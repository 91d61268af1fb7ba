"""Thresholds of a depth-L linear network: eta_crit under any loss with a minimiser, from the reduced map.

:func:`deep_eta_crit` derives eta_crit (a :class:`~catapult.theory.thresholds.Threshold`);
:func:`deep_thresholds` gives the :class:`~catapult.theory.thresholds.Thresholds` of the model (eta_max:
derived at L = 2, where the reduced map induces exactly the uv map; not derived for L >= 3).

Derivation (SymPy, on :func:`catapult.theory.deep.derive_deep_map`).  The reduced map is x' = x + s u(x)
with s = l'(f(x)) (the slope kept opaque in ``update_slope``: every coordinate update is linear in
s).  On the manifold of minima {f(x) = f*} the slope vanishes, so its Jacobian there is

    J = d x'/d x |_{s=0} + u (l''(f*) grad f)^T = I + l''(f*) u grad f^T,

the identity plus a rank-one matrix (both facts are checked symbolically, not assumed).  Its
eigenvalues are 1 (tangent to the manifold of minima: neutral) and

    mu = 1 + l''(f*) grad f . u = 1 - eta lam l''(f*),

where grad f . u = d f'/d s at s = 0 = -eta lam is *proved* by simplification for the given L.
The minimum is linearly stable iff |mu| < 1, i.e. eta lam l''(f*) < 2: eta_crit = 2/(lam l''(f*)),
exact in the curvature lam of the minimum reached; lam -> lam0 gives the leading order in 1/n (lazy
phase: lam moves by O(1/n)).  The same inequality, read at the end of a catapult, is the flatness
statement: a minimum GD converges to has eta lam_inf l''(f*) <= 2.

Examples
========
>>> from catapult.theory.loss import logistic
>>> r = deep_eta_crit(3, logistic("7/10"))
>>> r.value, r.minimiser, r.curvature
(200/(21*lam0), log(7/3), 21/100)
>>> r.multiplier
-21*eta*lam/100 + 1
"""

from __future__ import annotations

import functools
import time

import sympy as sp

from .deep import DeepReducedMap, check_depth, derive_deep_map
from .errors import TheoryInputError
from .exactness import Exactness
from .identity import vanishes
from .loss import Loss
from .reduce import SLOPE
from .symbols import eta, f as F, lam, lam0, n
from .thresholds import (BASE_ASSUMPTIONS, NO_ZERO, UNSOLVED, Threshold, Thresholds, derive_thresholds,
                         loss_assumptions, loss_minimisers)

LEADING = Exactness.LEADING

#: deepest L for which :func:`deep_thresholds` re-proves the Jacobian identity on the depth-L reduced map by
#: default (the proof, :func:`catapult.theory.identity.vanishes`, costs ~0.3 s at L = 4, 0.9 s at L = 5, 8 s at L = 6;
#: it was 2.6, 11 and 66 s with SymPy's cancel)
PROOF_DEPTH = 4


def stability_multiplier(dm: DeepReducedMap, curvature) -> sp.Expr:
    """The non-trivial eigenvalue of the reduced map's Jacobian at a minimum with l''(f*) = ``curvature``.

    Checks that x' = x + s u(x) exactly (so d x'/d x = I at s = 0) and proves grad f . u = -eta lam
    (raises otherwise); the proof depends only on L (the slope is opaque), so it is cached per depth.

    >>> from catapult.theory.loss import mse
    >>> stability_multiplier(derive_deep_map(3, mse()), 1)
    -eta*lam + 1
    """
    if not _identity_proved(dm.L):
        raise AssertionError(f"depth {dm.L}: the reduced map's Jacobian at s = 0 is not I + u grad s^T "
                             "with grad f . u = -eta lam")
    return 1 - eta * lam * sp.sympify(curvature, strict=True)


@functools.lru_cache(maxsize=None)
def _identity_proved(L: int) -> bool:
    dm = derive_deep_map(L)
    state = dm.state
    x = sp.Matrix(state)
    upd = sp.Matrix([dm.update_slope[str(v)] for v in state])
    u = sp.Matrix([sp.diff(e, SLOPE) for e in upd])
    if u.has(SLOPE) or sp.expand(upd - x - SLOPE * u) != sp.zeros(len(state), 1):
        return False  # not of the form x + s u(x)
    grad = sp.Matrix([sp.diff(dm.f, v) for v in state])
    r = sp.Symbol("r", positive=True)  # sqrt(n): the expression becomes rational, vanishes() decides it
    return vanishes(((grad.T * u)[0, 0] + eta * dm.lam).subs(n, r**2))


def deep_eta_crit(L: int, loss: Loss, dm: DeepReducedMap | None = None, *, prove: bool = True,
                  note: str = "") -> Threshold:
    """Derive eta_crit for depth ``L`` under ``loss`` from the Jacobian of the reduced map at a minimum.

    Returns a :class:`~catapult.theory.thresholds.Threshold` (``minimiser``, ``curvature``, ``multiplier`` and
    ``exact_in_lam`` filled in).  ``prove=False`` skips re-proving grad f . u = -eta lam on the depth-L map
    (the first-order GD identity d f'/d l' = -eta |grad f|^2 = -eta lam, which holds for any model): the
    same value, with the derivation saying it was not re-checked (``note``: why).

    >>> from catapult.theory.loss import logistic, degenerate_logistic
    >>> deep_eta_crit(4, logistic("p")).value
    -2/(lam0*p*(p - 1))
    >>> r = deep_eta_crit(3, logistic("7/10"))
    >>> r.value, r.minimiser, r.curvature, r.multiplier
    (200/(21*lam0), log(7/3), 21/100, -21*eta*lam/100 + 1)
    >>> print(deep_eta_crit(3, degenerate_logistic([1, 1], [1, 2])).reason)
    l'(f) has no real zero: the loss has no minimiser (separable data: the infimum is at |f| -> oo)
    """
    t0 = time.perf_counter()
    L = check_depth(L)
    pairs, how_min, _, kind = loss_minimisers(loss)

    def none(reason):
        return Threshold("eta_crit", None, Exactness.NOT_DERIVED, "", reason, loss=loss,
                         seconds=time.perf_counter() - t0)

    if kind == UNSOLVED:
        return none("no minimiser found: SymPy cannot solve l'(f) = 0 and no sign change brackets one")
    if kind == NO_ZERO:
        return none("l'(f) has no real zero: the loss has no minimiser (separable data: the infimum is at |f| -> oo)")
    if len(pairs) != 1:
        return none(f"need exactly one minimiser with l''(f*) > 0, found {len(pairs)}")
    fstar, curv = pairs[0]
    if prove:
        if dm is None:
            dm = derive_deep_map(L, loss)
        mu = stability_multiplier(dm, curv)
        proof = (f"Jacobian of the depth-{L} reduced map at a point of {{f = f*}}: I + l''(f*) u grad f^T "
                 f"(checked), non-trivial eigenvalue {mu} (grad f . u = -eta lam proved)")
    else:
        mu = 1 - eta * lam * curv
        proof = ("Jacobian of parameter GD at a minimum: I - eta l''(f*) grad f grad f^T (first-order GD identity, "
                 f"any model with one output), non-trivial eigenvalue {mu} with lam = |grad f|^2"
                 + (f" ({note})" if note else f" (not re-proved on the depth-{L} reduced map)"))
    sols = [s_ for s_ in sp.solve(sp.Eq(mu, -1), eta, rational=False) if s_ != 0]
    if len(sols) != 1:
        return none(f"mu = -1 has {len(sols)} solutions in eta")
    exact = sols[0]
    value = sp.factor(exact.subs(lam, lam0))
    how = f"{proof}; mu = -1 at eta = {exact}; lam -> lam0 ({LEADING}); f* by {how_min}"
    return Threshold("eta_crit", value, LEADING, how, exact_in_lam=exact, minimiser=fstar, curvature=curv,
                     multiplier=mu, loss=loss, seconds=time.perf_counter() - t0)


def induces_uv_map(dm: DeepReducedMap) -> bool:
    """True when the reduced map, read through its observables (f, lam), is exactly the uv (f, lam) map
    (with l'(f) opaque, for every A, C, rho): proved by cancelling f(x') - f_uv'(f(x), lam(x)) and the same
    for lam.  Holds at L = 2 (the depth-2 network is the uv model); not at L = 3, where the state does not
    close on (f, lam).

    >>> induces_uv_map(derive_deep_map(2)), induces_uv_map(derive_deep_map(3))
    (True, False)
    """
    from .models import uv_model
    from .reduce import derive_map
    uv = derive_map(uv_model(), dm.loss).update_slope
    reps = {dm.symbols[k]: v for k, v in dm.update_slope.items()}
    obs = {"f": dm.f, "lam": dm.lam}
    r = sp.Symbol("r", positive=True)  # sqrt(n): the expressions become rational, vanishes() decides
    for k in ("f", "lam"):
        nxt = obs[k].subs(reps, simultaneous=True)
        want = uv[k].subs({F: dm.f, lam: dm.lam}, simultaneous=True)
        if not vanishes((nxt - want).subs(n, r ** 2)):
            return False
    return True


def _deep_eta_max(L: int, loss: Loss, dm: DeepReducedMap | None) -> Threshold:
    if L == 2 and induces_uv_map(dm or derive_deep_map(2, loss)):
        from .models import uv_model
        u = derive_thresholds(uv_model(), loss).eta_max
        pre = ("L = 2: the depth-2 reduced map induces exactly the uv (f, lam) map (proved: induces_uv_map), so "
               "the uv derivation holds: ")
        if u.value is None:
            return Threshold("eta_max", None, u.exactness, "", pre + u.reason, loss=loss)
        return Threshold("eta_max", u.value, u.exactness, pre + u.derivation, exact_in_lam=u.exact_in_lam, loss=loss)
    return Threshold("eta_max", None, Exactness.NOT_DERIVED, "",
                     f"not derived for L = {L} (L >= 3): the state does not close on (f, lam), and the divergence verdict "
                     "of the exact reduced map depends on the width n through f0/sqrt(n) (theory.deep.width_scaling): "
                     "for eta*lam0 in a band it depends on the phase of ln n, so there is no single width-independent "
                     "value (the band is measured: `catapult thresholds deep --depth L`)", loss=loss)


def deep_thresholds(L: int, loss: Loss, init: str = "isometric", proof_depth: int = PROOF_DEPTH) -> Thresholds:
    """eta_crit and eta_max of a depth-L linear network under ``loss``.

    Isometric hidden layers: eta_crit from the reduced map (:func:`deep_eta_crit`, re-proved on the depth-L map
    up to ``proof_depth``); eta_max derived at L = 2 (the uv map, induced exactly), not derived for L >= 3.
    Gaussian hidden layers have no exact reduced map: eta_crit from the first-order GD identity (any model,
    leading order), eta_max not derived.

    >>> t = deep_thresholds(3, Loss.parse("f**2/2"))
    >>> t.eta_crit.value, t.eta_max.value, t.eta_max.exactness
    (2/lam0, None, <Exactness.NOT_DERIVED: 'not derived'>)
    >>> deep_thresholds(2, Loss.parse("f**2/2")).eta_max.value       # L = 2 is the uv model
    4/lam0
    >>> deep_thresholds(3, Loss.parse("f**2/2"), init="gaussian").model
    'deep(L=3, gaussian)'
    """
    L = check_depth(L)
    if init not in ("isometric", "gaussian"):
        raise TheoryInputError(f"init must be 'isometric' or 'gaussian', got {init!r}")
    iso = init == "isometric"
    dm = derive_deep_map(L, loss) if iso and L <= proof_depth else None
    note = (f"not re-proved on the depth-{L} reduced map: the proof costs ~x5 per layer beyond L = {proof_depth}"
            if iso else "Gaussian hidden layers: no exact reduced map to prove it on")
    crit = deep_eta_crit(L, loss, dm, prove=iso and L <= proof_depth, note=note)
    if iso:
        emax = _deep_eta_max(L, loss, dm)
    else:
        emax = Threshold("eta_max", None, Exactness.NOT_DERIVED, "",
                         "not derived for Gaussian hidden layers: W W^T/n is not I, so there is no exact reduced map",
                         loss=loss)
    mins = [] if crit.minimiser is None else [crit.minimiser]
    assumptions = list(BASE_ASSUMPTIONS) + loss_assumptions(loss, mins)
    assumptions.append("isometric hidden layers (the reduced map is exact)" if iso else
                       "Gaussian hidden layers: eta_crit from the first-order GD identity at a minimum (any model)")
    return Thresholds(f"deep(L={L}, {init})", loss, crit, emax, mins, assumptions, dm)
