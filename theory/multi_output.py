"""Models with several outputs f_1..f_k on one input, trained on L = sum_a l(f_a): the exact map and eta_crit.

The loss applies to every output and the terms are summed (the convention of a multi-output regression with one
loss per output; a mean would rescale eta by k).  One GD step moves the parameters by
-eta sum_a l'(f_a) grad f_a, so the Gram step of :mod:`catapult.theory.gram` with one slope per output is exact.
The function-space state (f_a, Theta_ab) does not close in general (for f_a = v_a.u/sqrt(n):
Theta_ab = (delta_ab |u|^2 + v_a.v_b)/n needs |u|^2 apart), so the map is given on the Gram state, exactly, with
the outputs and the NTK matrix Theta_ab = grad f_a . grad f_b as observables.

eta_crit: at a minimum (every l'(f_a*) = 0) the Gram step is the identity and the outputs move, to first order,
by d f'/d s = -eta Theta (checked symbolically on the Gram step), so f' - f* = (I - eta Theta H)(f - f*) with
H = diag(l''(f_a*)): unstable iff eta lam_max(Theta H) > 2.  With one loss for every output H = l''(f*) I and
eta_crit = 2 / (l''(f*) lam_max(Theta*)); Theta* = Theta_0 + O(1/n) in the lazy phase, so lam0 here is the top
eigenvalue of the NTK matrix at initialisation (leading order in 1/n).  eta_max: not derived (the excursion
analysis is a one-output argument).

Examples
========
>>> from catapult.theory.model_file import user_spec
>>> from catapult.theory.loss import mse
>>> spec = user_spec("two", ["dot(u, v1)/sqrt(n)", "dot(u, v2)/sqrt(n)"], vectors=("u", "v1", "v2"))
>>> m = derive_multi_map(spec.model, mse())
>>> [str(s) for s in m.state], str(m.observables["f1"])
(['uu', 'uv1', 'uv2', 'v1v1', 'v1v2', 'v2v2'], 'uv1/sqrt(n)')
>>> str(m.observables["Theta12"])
'v1v2/n'
>>> derive_multi_thresholds(spec.model, mse()).eta_crit.value
2/lam0
"""

from __future__ import annotations

import sympy as sp

from dataclasses import dataclass, field

from .errors import TheoryInputError
from .exactness import Exactness
from .loss import Loss
from .reduce import FunctionSpaceMap, _tidy
from .symbols import eta, f, lam0
from .thresholds import LEADING, Threshold, Thresholds, numeric_zero, real_zeros

def _slopes(k):
    """Slope symbols s1, s2, ... standing for l'(f_a) while the step is derived."""
    return [sp.Symbol(f"s{a + 1}", real=True) for a in range(k)]


def ntk_matrix(model) -> sp.Matrix:
    """Theta_ab = grad f_a . grad f_b (vectors and scalars), in Gram symbols.

    >>> from catapult.theory.model_file import user_spec
    >>> user_spec("two", ["dot(u, v1)/sqrt(n)", "dot(u, v2)/sqrt(n)"], vectors=("u", "v1", "v2")).model
    VectorModel('two', params=('u', 'v1', 'v2'), f=uv1/sqrt(n), outputs=2)
    >>> ntk_matrix(_)[0, 0]
    uu/n + v1v1/n
    """
    outs = model.outputs
    k = len(outs)
    grads = [model.grad_coeffs(o) for o in outs]
    sgrads = [model.scalar_grads(o) for o in outs]
    G = model.G
    T = sp.zeros(k, k)
    for a in range(k):
        for b in range(a, k):
            val = 0
            for prm in model.params:
                ca, cb = grads[a][prm], grads[b][prm]
                val += sum(ca[q] * cb[r] * G[q, r] for q in ca for r in cb)
            val += sum(sgrads[a][s] * sgrads[b][s] for s in model.scalars)
            T[a, b] = T[b, a] = sp.expand(val)
    return T


@dataclass(repr=False)
class MultiOutputMap(FunctionSpaceMap):
    """A :class:`FunctionSpaceMap` on the Gram state of a k-output model: the observables are the outputs
    f_a and the NTK matrix entries Theta_ab (not state coordinates); ``slopes`` are the symbols s_a = l'(f_a)
    kept opaque in ``update_slope``."""

    output_observables: dict = field(default_factory=dict, repr=False)
    slopes: list = field(default_factory=list, repr=False)

    @property
    def observables(self) -> dict:
        """f1..fk and Theta_ab in the Gram state."""
        return self.output_observables

    def _json_extra(self) -> dict:
        return {"observables": {k: str(v) for k, v in self.output_observables.items()}}


def derive_multi_map(model, loss: Loss) -> FunctionSpaceMap:
    """The exact Gram-level step of a k-output model under L = sum_a l(f_a); observables f_a and Theta_ab."""
    outs = list(model.outputs)
    if len(outs) < 2:
        raise TheoryInputError(f"model {model.name} has one output: use derive_map")
    S = _slopes(len(outs))
    gram_next = model.gd_step_samples(outs, S, 1)
    opaque = {str(s): _tidy(v) for s, v in gram_next.items()}
    slopes = {S[a]: loss.d1.subs(f, outs[a]) for a in range(len(outs))}
    update = {k: v.subs(slopes, simultaneous=True) for k, v in opaque.items()}
    state = list(model.G.state_symbols)
    T = ntk_matrix(model)
    obs = {f"f{a + 1}": o for a, o in enumerate(outs)}
    obs.update({f"Theta{a + 1}{b + 1}": T[a, b] for a in range(len(outs)) for b in range(a, len(outs))})
    return MultiOutputMap(model.name, loss, state, update, False, gram_next, {}, label=Exactness.EXACT_EXTRA,
                          update_slope=opaque, model_def=model, output_observables=obs, slopes=S)


def _output_rate(model, fmap):
    """True when d F_a(Phi(G, s))/d s_b at s = 0 equals -eta Theta_ab and Phi(G, 0) = G (proved by SymPy)."""
    S = fmap.slopes
    zero = {s: 0 for s in S}
    if any(sp.simplify(v.subs(zero) - g) != 0 for g, v in fmap.gram_update.items()):
        return False
    T = ntk_matrix(model)
    for a, o in enumerate(model.outputs):
        moved = o.subs(fmap.gram_update, simultaneous=True)
        for b, s in enumerate(S):
            if sp.simplify(sp.diff(moved, s).subs(zero) + eta * T[a, b]) != 0:
                return False
    return True


def derive_multi_thresholds(model, loss: Loss) -> Thresholds:
    """eta_crit of a k-output model (leading order in 1/n, lam0 = lam_max(Theta_0)); eta_max not derived."""
    fmap = derive_multi_map(model, loss)
    why_max = ("not derived: the excursion analysis (sign of the lam-drift along |f| -> oo) is a one-output "
               "argument; measure it (catapult scan: divergence onset at width n)")
    emax = Threshold("eta_max", None, Exactness.NOT_DERIVED, "", why_max)
    zeros = real_zeros(loss.d1)
    if zeros is None:
        z = numeric_zero(loss.d1)
        zeros = [] if z is None else [z]
    mins = [z for z in zeros if sp.simplify(loss.d2.subs(f, z)).is_positive]
    assumptions = ["eta > 0", "n > 0", "L = sum_a l(f_a) (one loss for every output, summed)",
                   "lam0 = the top eigenvalue of the NTK matrix Theta_ab = grad f_a . grad f_b at initialisation "
                   "(Theta at the minimum reached = Theta_0 + O(1/n))"]
    if len(mins) != 1:
        why = "no minimiser with l''(f*) > 0" if not mins else f"several minimisers: {mins}"
        return Thresholds(model.name, loss, Threshold("eta_crit", None, Exactness.NOT_DERIVED, "", why), emax, mins,
                          assumptions, fmap)
    if not _output_rate(model, fmap):
        crit = Threshold("eta_crit", None, Exactness.NOT_DERIVED, "", "the outputs' first-order move at the minimum could not be "
                         "written as -eta Theta (l' - 0)")
        return Thresholds(model.name, loss, crit, emax, mins, assumptions, fmap)
    curv = sp.simplify(loss.d2.subs(f, mins[0]))
    how = ("f' - f* = (I - eta Theta H)(f - f*) at the minimum (d f'/d s = -eta Theta, proved on the Gram step), "
           f"H = l''(f*) I = {curv} I: unstable iff eta lam_max(Theta) l''(f*) > 2; Theta -> Theta_0 (lazy, O(1/n))")
    crit = Threshold("eta_crit", sp.factor(2 / (curv * lam0)), LEADING, how)
    return Thresholds(model.name, loss, crit, emax, mins, assumptions, fmap)
