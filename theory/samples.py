"""Many samples and input dimension d: the exact GD map on the invariants of the uv model.

Model: f(x) = n^{-1/2} v.(u x), u in R^{n x d} (columns u_1..u_d), v in R^n, trained on data
X in R^{m x d} with loss (1/m) sum_a l(f(x_a), y_a).  The gradient of every output is a
linear combination of the parameter vectors, so one GD step maps the invariants

    V = |v|^2,   G_kl = u_k . u_l,   w_k = u_k . v

to exact expressions in themselves -- for any m, d and loss.  The outputs f = X w / sqrt(n)
and the NTK matrix (normalisation Theta = J J^T / m, so that f' - y = (I - eta Theta)(f - y)
to first order for squared loss)

    Theta_ab = (V x_a.x_b + x_a^T G x_b) / (n m)

follow from the invariants; (f, Theta) alone does not close in general, so the state is the
invariants themselves.

Examples
========
>>> sm = derive_sample_map(m=1, d=1, X=[[1]])
>>> sm.state
[u1u1, u1v, vv]
>>> sm.outputs
[u1v/sqrt(n)]
>>> sm.ntk
Matrix([[u1u1/n + vv/n]])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .errors import TheoryInputError
from .exactness import Exactness
from .gram import VectorModel
from .loss import Loss, mse
from .maps import ReducedMap
from .models import ModelSpec
from .parse import exact_value
from .symbols import eta, f, n, y


def _slopes(m):
    return [sp.Symbol(f"s{a + 1}", real=True) for a in range(m)]


def data_matrix(m, d, X=None) -> sp.Matrix:
    """The data as an exact m x d matrix: symbols x{a}{k} when ``X`` is None.

    >>> data_matrix(2, 1)
    Matrix([
    [x11],
    [x21]])
    >>> data_matrix(1, 2, [[0.5, 1]])
    Matrix([[1/2, 1]])
    """
    if int(m) < 1 or int(d) < 1 or int(m) != m or int(d) != d:
        raise TheoryInputError(f"samples m and dimension d must be integers >= 1, got m={m}, d={d}")
    if X is None:
        return sp.Matrix(m, d, lambda a, k: sp.Symbol(f"x{a + 1}{k + 1}", real=True))
    import math
    if any(isinstance(v, float) and not math.isfinite(v) for row in X for v in row):
        raise TheoryInputError("data contain nan or inf")
    # floats are taken at their exact binary value, as numerics takes its float64 data
    M = sp.Matrix([[exact_value(v, "data entry", floats="binary", number=False) for v in row] for row in X])
    if M.shape != (m, d):
        raise TheoryInputError(f"data must have shape ({m}, {d}), got {M.shape}")
    if any(not v.is_finite for v in M):
        raise TheoryInputError("data contain nan or inf")
    return M


def sample_model(d: int) -> VectorModel:
    """The uv model's vectors u_1..u_d, v (output at a generic input written per sample)."""
    names = tuple(f"u{k + 1}" for k in range(d)) + ("v",)
    return VectorModel(f"uv(d={d})", names, lambda G: G["u1", "v"] / sp.sqrt(n))


@dataclass(repr=False)
class SampleMap(ReducedMap):
    """The exact map on the invariants for m samples in dimension d (a :class:`~catapult.theory.maps.ReducedMap`:
    observables f1..fm and Theta, constants the symbolic data entries and labels).

    >>> sm = derive_sample_map(1, 1, X=[[1]], Y=[0])
    >>> sm.model, sm.exactness, sm.observables
    ('uv(m=1, d=1)', <Exactness.EXACT: 'exact'>, {'f1': u1v/sqrt(n), 'Theta': Matrix([[u1u1/n + vv/n]])})
    >>> sorted(map(str, derive_sample_map(1, 1).constants))
    ['x11', 'y1']
    """

    m: int
    d: int
    X: sp.Matrix
    Y: list
    loss: Loss
    state: list
    update: dict
    outputs: list
    ntk: sp.Matrix
    update_slope: dict = field(repr=False)
    exact: bool = True
    coeff_mats: list = field(default=None, repr=False)  #: C_a with grad f_a = C_a theta (parameter order u1..ud, v)
    params: tuple = field(default=(), repr=False)

    def _header(self) -> str:
        return f"uv model, m={self.m} samples, d={self.d}, loss {self.loss.expr}   [{self.exactness}: map on the invariants]"

    def _details(self) -> list:
        return [f"  f{a + 1} = {o}" for a, o in enumerate(self.outputs)] + [f"  Theta (= J J^T/m) = {self.ntk.tolist()}"]

    @property
    def model(self) -> str:
        return f"uv(m={self.m}, d={self.d})"

    @property
    def observables(self) -> dict:
        """The outputs f1..fm and the NTK matrix Theta = J J^T / m, in the invariants."""
        out = {f"f{a + 1}": o for a, o in enumerate(self.outputs)}
        out["Theta"] = self.ntk
        return out

    @property
    def constants(self) -> dict:
        """The data entries and labels left symbolic (none for numeric data)."""
        out = {x: f"data entry X[{a + 1}, {k + 1}]" for a in range(self.m) for k in range(self.d)
               if isinstance(x := self.X[a, k], sp.Symbol)}
        out.update({v: f"label of sample {a + 1}" for a, v in enumerate(self.Y) if isinstance(v, sp.Symbol)})
        return out

    @property
    def init(self) -> dict:
        """Not fixed by the model (any invariants of an initialisation)."""
        return {}

    def _json_extra(self) -> dict:
        return {"outputs": [str(o) for o in self.outputs],
                "ntk": [[str(self.ntk[a, b]) for b in range(self.m)] for a in range(self.m)],
                "ntk_normalisation": "Theta = J J^T / m"}

    @property
    def slopes(self) -> list:
        """The opaque slopes s_a = l'(f_a) of ``update_slope`` (one per sample).

        >>> derive_sample_map(2, 1, X=[[1], [2]], Y=[0, 1]).slopes
        [s1, s2]
        """
        return _slopes(self.m)

    def output_update(self):
        """f'_a in the invariants (exact)."""
        reps = {self.symbols[k]: v for k, v in self.update.items()}
        return [sp.expand(o.subs(reps, simultaneous=True)) for o in self.outputs]

    def stability_matrix(self):
        """d f'/d f at a minimum (all slopes 0): I - eta Theta H, H = diag(l''(f_a)) -- derived.

        Computed as I + (d f'/d s) H at s = 0 from the exact map (f' = f when every slope vanishes).
        """
        s = _slopes(self.m)
        reps = {self.symbols[k]: v for k, v in self.update_slope.items()}
        fnext = [o.subs(reps, simultaneous=True) for o in self.outputs]
        D = sp.Matrix(self.m, self.m, lambda a, b: sp.diff(fnext[a], s[b]).subs({x: 0 for x in s}))
        H = sp.diag(*[sp.Symbol(f"h{a + 1}", positive=True) for a in range(self.m)])
        return sp.simplify(sp.eye(self.m) + D * H), H


def derive_sample_map(m: int, d: int, loss: Loss | None = None, X=None, Y=None, symbolic=True) -> SampleMap:
    """Derive the exact invariant map for ``m`` samples in dimension ``d``.

    ``loss`` is a loss of the output ``f`` and label ``y`` (default squared loss (f - y)^2/2);
    ``X`` (m x d) and ``Y`` (m labels) may be numbers or left symbolic (x{a}{k}, y{a}).
    ``symbolic=False`` skips expanding the update expressions (large m, d): the exact map is then
    available through :func:`catapult.verify.bridge.sample_step` only.

    >>> sm = derive_sample_map(2, 2)
    >>> len(sm.state), sm.ntk[0, 1].has(sp.Symbol("vv", nonnegative=True))
    (6, True)
    """
    loss = loss or mse("y")
    X = data_matrix(m, d, X)
    if Y is None:
        Y = [sp.Symbol(f"y{a + 1}", real=True) for a in range(m)]
    import math
    if any(isinstance(v, float) and not math.isfinite(v) for v in Y):
        raise TheoryInputError("labels contain nan or inf")
    Y = [exact_value(v, "label", floats="binary", number=False) for v in Y]
    if len(Y) != m:
        raise TheoryInputError(f"need {m} labels, got {len(Y)}")
    model = sample_model(d)
    G = model.G
    us = [f"u{k + 1}" for k in range(d)]
    w = [G[u, "v"] for u in us]
    outputs = [sp.expand(sum(X[a, k] * w[k] for k in range(d)) / sp.sqrt(n)) for a in range(m)]
    s = _slopes(m)
    state = list(G.symbols)
    if symbolic:
        gram_next = model.gd_step_samples(outputs, s, sp.Rational(1, m))
        update_slope = {str(k): sp.expand(v) for k, v in gram_next.items()}
        slope_of = [loss.d1.subs({f: outputs[a], y: Y[a]}, simultaneous=True) for a in range(m)]
        update = {k: v.subs(dict(zip(s, slope_of)), simultaneous=True) for k, v in update_slope.items()}
    else:
        update_slope, update = {}, {}
    V = G["v", "v"]
    Gm = sp.Matrix(d, d, lambda k, l: G[us[k], us[l]])
    ntk = sp.Matrix(m, m, lambda a, b: sp.expand(
        (V * (X[a, :] * X[b, :].T)[0, 0] + (X[a, :] * Gm * X[b, :].T)[0, 0]) / (n * m)))
    coeff = [model.coeff_matrix(o) for o in outputs]
    return SampleMap(m, d, X, Y, loss, state, update, outputs, ntk, update_slope, True, coeff, model.params)


#: the NTK matrix at initialisation and at the minimum reached, and H = diag(l''(f_a*)): non-commutative
#: symbols, so that 2/lam_max(Theta0*H) prints in that order
THETA0, THETA, HESS = sp.symbols("Theta0 Theta H", commutative=False)
#: the top eigenvalue of a matrix (unevaluated: Theta depends on the minimum reached)
LAM_MAX = sp.Function("lam_max", positive=True)

SAMPLE_ASSUMPTIONS = ("eta > 0", "n > 0",
                      "Theta = J J^T / m: Theta0 at initialisation, Theta at the minimum reached "
                      "(= Theta0 + O(1/n) in the lazy phase)",
                      "an interpolating minimum: every f_a at the minimiser of l(f, y_a) (rank X = m)")


def _sample_minimisers(sm: SampleMap):
    """(f_a*, l''(f_a*)) for every sample, or (None, reason).  The minimiser is solved with the label y kept
    symbolic, then y = y_a substituted; a label that is a number is substituted first if that fails."""
    from .thresholds import loss_minimisers
    generic, _, why_generic, _ = loss_minimisers(sm.loss)
    out = []
    for a, ya in enumerate(sm.Y):
        if len(generic) == 1:
            z, c = generic[0]
            out.append((sp.simplify(z.subs(y, ya)), sp.simplify(c.subs(y, ya))))
            continue
        pairs, why = [], why_generic
        if not getattr(ya, "free_symbols", None):
            pairs, _, why, _ = loss_minimisers(Loss(sm.loss.expr.subs(y, ya), sm.loss.name))
        if len(pairs) != 1:
            return None, f"sample {a + 1}: {why or f'{len(pairs)} minimisers with l'' > 0, need one'}"
        out.append(pairs[0])
    return out, ""


def _interpolation_reason(sm: SampleMap) -> str:
    """Why no interpolating minimum exists (rank X < m), or ""."""
    if sm.X.free_symbols:
        return "" if sm.m <= sm.d else (f"m = {sm.m} samples in d = {sm.d} dimensions: Theta has rank <= d < m, no "
                                        "interpolating minimum, so the eta_crit statement (all slopes zero at the "
                                        "minimum) does not apply")
    r = sm.X.rank()
    return "" if r == sm.m else (f"rank-deficient data (rank {r} < m = {sm.m}): no interpolating minimum, so the "
                                 "eta_crit statement (all slopes zero at the minimum) does not apply")


def sample_thresholds(sm: SampleMap):
    """eta_crit of the uv model on m samples, from the exact map on the invariants (a
    :class:`~catapult.theory.thresholds.Thresholds`).

    At an interpolating minimum every slope l'(f_a, y_a) vanishes; the exact map gives d f'/d f = I - eta Theta H
    there (:meth:`SampleMap.stability_matrix`, checked against the NTK matrix Theta = J J^T/m), with
    H = diag(l''(f_a*)).  Its eigenvalues are 1 - eta mu_i, mu_i those of Theta H: stable iff
    eta lam_max(Theta H) < 2, so eta_crit = 2/lam_max(Theta H) -- exact in Theta at the minimum reached,
    2/lam_max(Theta0 H) at leading order in 1/n.  eta_max is not derived (for m > 1 the top-eigendirection
    lam-drift is only leading order).

    >>> t = sample_thresholds(derive_sample_map(2, 2))
    >>> t.eta_crit.value, t.eta_crit.exact_in_lam, t.minimisers
    (2/lam_max(Theta0*H), 2/lam_max(Theta*H), [y1, y2])
    >>> t.eta_crit.at(4)          # lam0 stands for lam_max(Theta0 H) here
    1/2
    >>> print(sample_thresholds(derive_sample_map(3, 2)).eta_crit.reason[:40])
    m = 3 samples in d = 2 dimensions: Theta
    """
    from .thresholds import Threshold, Thresholds, loss_assumptions
    loss = sm.loss
    top0 = LAM_MAX(THETA0 * HESS)
    emax = Threshold("eta_max", None, Exactness.NOT_DERIVED, "",
                     "not derived for the map on the invariants of m samples: for m > 1 the top-eigendirection "
                     "lam-drift is only leading order (Lewkowycz et al. appendix); use `catapult scan` for the "
                     "measured value", loss=loss)
    mins, why = _sample_minimisers(sm)
    why = _interpolation_reason(sm) or why
    if not why and not sm.update_slope:
        why = "the map was derived with symbolic=False (no update expressions): no stability matrix"
    details = {"ntk": [[str(sm.ntk[a, b]) for b in range(sm.m)] for a in range(sm.m)]}
    if not why:
        J, H = sm.stability_matrix()
        if sp.simplify(J - (sp.eye(sm.m) - eta * sm.ntk * H)) != sp.zeros(sm.m, sm.m):
            why = "the linearised map at the minimum is not I - eta Theta H"
        else:
            details["stability_matrix"] = [[str(J[a, b]) for b in range(sm.m)] for a in range(sm.m)]
            details["H"] = (f"diag(l''(f_a*)) at the minimum = diag({', '.join(str(c) for _, c in mins)}); "
                            "the stability matrix keeps h_a = l''(f_a*) as symbols")
    if why:
        crit = Threshold("eta_crit", None, Exactness.NOT_DERIVED, "", why, loss=loss)
        return Thresholds(sm.model, loss, crit, emax, [], list(SAMPLE_ASSUMPTIONS), sm, details=details)
    how = ("d f'/d f = I - eta Theta H at a minimum (derived from the exact map on the invariants, checked against "
           "Theta = J J^T/m); stable iff eta lam_i(Theta H) < 2 for every i; exact in Theta at the minimum reached, "
           "Theta -> Theta0 (leading order in 1/n: Theta moves by O(1/n) in the lazy phase)")
    crit = Threshold("eta_crit", 2 / top0, Exactness.LEADING, how, exact_in_lam=2 / LAM_MAX(THETA * HESS),
                     multiplier=1 - eta * LAM_MAX(THETA * HESS), loss=loss, scale=top0)
    fs = [z for z, _ in mins]
    assumptions = list(SAMPLE_ASSUMPTIONS) + loss_assumptions(loss, fs)
    return Thresholds(sm.model, loss, crit, emax, fs, assumptions, sm, details=details)


@dataclass
class SampleModel(ModelSpec):
    """The registry's ``"samples"`` model: the uv model on ``m`` samples in dimension ``d`` (data ``X``, labels
    ``Y``; symbolic when None).  ``"mse"`` means (f - y)^2/2 with each sample's label.

    >>> SampleModel(1, 1, [[1]], [0]).derive(mse("y")).outputs
    [u1v/sqrt(n)]
    """

    m: int
    d: int
    X: object = None
    Y: object = None
    name = "samples"

    def as_loss(self, loss, p=None):
        return mse("y") if loss == "mse" and p is None else super().as_loss(loss, p)

    def derive(self, loss=None) -> SampleMap:
        return derive_sample_map(self.m, self.d, loss, self.X, self.Y)

    def thresholds(self, loss=None):
        return sample_thresholds(self.derive(loss))


def _split(name):
    """'u1u2' -> ('u1', 'u2'); 'u1v' -> ('u1', 'v'); 'vv' -> ('v', 'v')."""
    import re
    a, b = re.findall(r"u\d+|v", name)
    return a, b
