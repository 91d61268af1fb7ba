"""Catalogue rows for networks (the bridge to the theory): a 2-layer *linear* net on one input is the uv model.

Numerics: :mod:`catapult.numerics.nets` (JAX float64, GD on the weights W_1 (n x 1), W_2 (1 x n); x = 1, y = 0,
loss f^2/2, so f = W_2 W_1 x / sqrt(n) is the uv model).  Theory: the derived uv thresholds
(:func:`catapult.theory.thresholds.derive_thresholds`), eta_crit lam0 = 2 and eta_max lam0 = 4, leading order in 1/n.
Measured on a c grid (step 0.005): c_crit (criterion: the loss ever exceeds L0), c_max (the largest c that
converged), c_blowup (the smallest c that diverged); tolerance grid step + 10/n (the finite-width corrections are
O(1/n): c_crit = 2 + 4 f0^2/(n lam0) + ... from the first step of the map).  The rows run under ``--full`` only
(about 10 s per width with the JAX compilations), and only when the nets extra is installed.
"""

from __future__ import annotations

import time

import numpy as np

from ..table import Row

WIDTHS = (64, 1024)
GRID = 0.005


def _derived():
    from catapult.theory import mse, uv_model
    from catapult.theory.symbols import lam0
    from catapult.theory.thresholds import derive_thresholds
    t = derive_thresholds(uv_model(), mse())
    return float(t.eta_crit.value * lam0), float(t.eta_max.value * lam0)


def measure_uv(n, seed=0, steps=3000):
    """(c_crit, c_max, c_blowup, eta*lam_final at c = 3, lam0) of the 2-layer linear net on x = 1, y = 0."""
    from catapult.numerics import nets as N
    X, y = np.ones((1, 1)), np.zeros(1)
    net = N.Net(2, n, "linear")
    p = N.init(net, 1, seed=seed)
    lam0 = N.ntk_top(net, p, X)
    cs = np.round(np.concatenate([np.arange(1.9, 2.1 + 1e-9, GRID), np.arange(3.8, 4.2 + 1e-9, GRID), [3.0]]), 6)
    r = N.run_gd(net, N.stack([p] * len(cs)), X, y, cs / lam0, steps=steps, chunk=500)
    rose = np.nanmax(r.loss, axis=1) > r.loss[:, 0]
    conv, div = r.code == 0, r.code == 1
    k3 = len(cs) - 1
    lam_f = N.ntk_top(net, N.unstack(r.params, k3), X) if conv[k3] else float("nan")
    pick = lambda mask, f: float(f(cs[mask])) if mask.any() else float("nan")  # noqa: E731
    return pick(rose, np.min), pick(conv & (cs > 3.5), np.max), pick(div, np.min), 3.0 * lam_f / lam0, lam0


def catalogue(full=False):
    if not full:
        return []
    import importlib.util
    if importlib.util.find_spec("jax") is None:   # the nets extra is not installed: the section has no rows
        return []
    crit, top = _derived()
    rows = []
    for n in WIDTHS:
        t0 = time.perf_counter()
        cc, cm, cb, elf, lam0 = measure_uv(n)
        tol = GRID + 10 / n
        lab = f"measured: jax float64, n={n}, seed=0, c grid {GRID}; derived: catapult.theory (leading order in 1/n)"
        dt = (time.perf_counter() - t0) / 3
        for i, (what, meas, pred) in enumerate((("c_crit (loss exceeds L0)", cc, crit),
                                               ("c_max (last convergent c)", cm, top),
                                               ("c_blowup (first divergent c)", cb, top))):
            rows.append(Row(f"N-a{n}-{i + 1}", f"2-layer linear net on one input (the uv model): {what} -> derived",
                            f"{pred:g}", f"{meas:.4g}", f"|measured - derived| <= {tol:.3g} (grid + 10/n)",
                            abs(meas - pred) <= tol, lab, dt, short=f"linear net n={n}: {what.split()[0]}",
                            quantity="eta*lam0", predicted_value=pred, measured_value=meas, tolerance_value=tol,
                            compare="abs", width=n, seed=0, backend="jax-float64", dps=15))
        rows.append(Row(f"N-b{n}", "catapult of the linear net ends with eta*lam_final <= 2 (c = 3)", "<= 2",
                        f"{elf:.4g}", "<= 2", elf <= 2, lab, 0.0, short=f"linear net n={n}: eta*lam_final <= 2",
                        quantity="eta*lam_final", measured_value=elf, tolerance_value=2.0, compare="<=", width=n, seed=0,
                        backend="jax-float64", dps=15))
    return rows
