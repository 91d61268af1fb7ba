"""Networks (catapult.numerics.nets, catapult.verify.nets): curvature against independent computations, verdicts
against the uv model's derived thresholds, the CLI contract and its bad input."""

import io
import json

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from catapult.numerics import nets as N  # noqa: E402
from catapult.numerics.phase import Phase, net_phase  # noqa: E402
from catapult.numerics.stop import Stop  # noqa: E402
from catapult.verify.cli import main  # noqa: E402

ONE = np.ones((1, 1)), np.zeros(1)


@pytest.mark.parametrize("act,depth", [("relu", 2), ("tanh", 3), ("gelu", 2)])
def test_lanczos_ntk_equals_exact(act, depth):
    net = N.Net(depth, 24, act, bias=True)
    X = np.random.default_rng(1).standard_normal((7, 5))
    p = N.init(net, 5, seed=3)
    exact = np.linalg.eigvalsh(N.ntk_matrix(net, p, X))[-1]
    assert N.ntk_top(net, p, X, "lanczos") == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize("n,seed", [(8, 0), (100, 5), (512, 2)])
def test_linear_two_layer_is_uv_ntk(n, seed):
    """lam0 of the 2-layer linear net on x = 1 is the uv model's (|u|^2 + |v|^2)/n (numpy, from the weights)."""
    net = N.Net(2, n, "linear")
    p = N.init(net, 1, seed=seed)
    u, v = np.asarray(p[0]["W"])[:, 0], np.asarray(p[1]["W"])[0]
    assert N.ntk_top(net, p, ONE[0]) == pytest.approx((u @ u + v @ v) / n, rel=1e-12)
    assert float(N.forward(net, p, ONE[0])[0]) == pytest.approx(v @ u / np.sqrt(n), rel=1e-12)


@pytest.mark.parametrize("n", [16, 256])
def test_hessian_top_at_init_m1(n):
    """m = 1, L = f^2/2: H = grad f grad f^T + f Hess f, and Hess f of the uv model has eigenvalues +-1/sqrt(n), so
    by Weyl |lam_max(H) - lam0| <= |f0|/sqrt(n)."""
    net = N.Net(2, n, "linear")
    p = N.init(net, 1, seed=1)
    lam0, H = N.ntk_top(net, p, ONE[0]), N.hessian_top(net, p, *ONE)
    f0 = abs(float(N.forward(net, p, ONE[0])[0]))
    assert abs(H - lam0) <= f0 / np.sqrt(n) * (1 + 1e-9)
    assert H >= lam0 - 1e-12   # the residual term adds +|f0|/sqrt(n) along a direction: H's top is above lam0


@pytest.mark.slow
def test_uv_phases_by_the_derived_thresholds():
    """Away from the knife edges 2 and 4 (n = 256): lazy below 2, catapult between, divergent above 4."""
    net = N.Net(2, 256, "linear")
    p = N.init(net, 1, seed=0)
    lam0 = N.ntk_top(net, p, ONE[0])
    cs = np.array([0.5, 1.5, 2.5, 3.5, 4.5, 6.0])
    r = N.run_gd(net, N.stack([p] * len(cs)), *ONE, cs / lam0, steps=3000, chunk=500)
    got = []
    for i in range(len(cs)):
        L = r.loss[i, :r.steps[i] + 1]
        stop = {0: Stop.CONVERGED, 1: Stop.RUNAWAY if np.isfinite(L).all() else Stop.NONFINITE}.get(int(r.code[i]),
                                                                                                   Stop.BUDGET)
        ratio = None if stop.diverged else N.ntk_top(net, N.unstack(r.params, i), ONE[0]) / lam0
        got.append(net_phase(stop, L, ratio)[0])
        if got[-1] is Phase.CATAPULT:
            assert cs[i] * ratio <= 2      # the catapult ends with eta lam_final <= 2
    assert got == [Phase.LAZY] * 2 + [Phase.CATAPULT] * 2 + [Phase.DIVERGENT] * 2


def test_vmapped_batch_equals_single_runs():
    net = N.Net(2, 32, "tanh")
    X = np.random.default_rng(0).standard_normal((6, 3))
    y = np.sign(X[:, 0])
    ps = [N.init(net, 3, seed=s) for s in (0, 1)]
    etas = np.array([0.5, 2.0])
    both = N.run_gd(net, N.stack(ps), X, y, etas, steps=60, chunk=25)
    for i in range(2):
        one = N.run_gd(net, N.stack([ps[i]]), X, y, etas[i:i + 1], steps=60, chunk=25)
        np.testing.assert_allclose(one.loss[0], both.loss[i], rtol=1e-12, equal_nan=True)


def test_dead_relu_net_is_stalled():
    """Every unit off on every input (W_1 x < 0): the output is constant, the gradient and the NTK vanish."""
    net = N.Net(2, 16, "relu")
    X = np.abs(np.random.default_rng(0).standard_normal((5, 3)))
    W1 = -np.abs(np.random.default_rng(1).standard_normal((16, 3)))
    p = N.init(net, 3, weights=[W1, np.ones((1, 16))])
    y = np.ones(5)
    assert N.ntk_top(net, p, X) == 0.0
    r = N.run_gd(net, N.stack([p]), X, y, np.array([0.1]), steps=20)
    L = r.loss[0, :r.steps[0] + 1]
    assert net_phase(Stop.CONVERGED if r.code[0] == 0 else Stop.BUDGET, L, 0.0)[0] is Phase.STALLED


def _cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_cli_net_json_and_figure(tmp_path):
    fig = tmp_path / "t.png"
    code, out, err = _cli("net", "--task", "0,1", "--width", "32", "--m", "32", "--c", "1", "--steps", "50",
                          "--json", "--plot", str(fig))
    assert code == 0, err
    d = json.loads(out)
    assert {"lam0", "verdict", "eta_lam_final", "train_loss", "test_accuracy", "meta"} <= set(d)
    assert d["meta"]["m_train"] == 32 and d["meta"]["normalise"] == "|x| = sqrt(d)" and fig.stat().st_size > 0


@pytest.mark.slow
def test_cli_net_sweep_table(tmp_path):
    out_csv = tmp_path / "s.csv"
    code, out, err = _cli("net-sweep", "--task", "0,1", "--widths", "16", "--m", "16", "--steps", "30",
                          "--c-grid", "1", "3", "30", "--seeds", "0", "1", "-o", str(out_csv), "--json",
                          "--plot", str(tmp_path / "s.svg"))
    assert code == 0, err
    d = json.loads(out)
    assert len(d["thresholds"]) == 2 and len(d["runs"]) == 6
    assert all(t["c_blowup"] == 30 for t in d["thresholds"])   # c = 30 >> 4: every seed blows up
    import pandas as pd
    df = pd.read_csv(out_csv)
    assert {"split_seed", "standardise", "normalise", "verdict", "c", "agreed", "verdict_float32"} <= set(df.columns)
    assert (tmp_path / "s.svg").read_text().lstrip().startswith("<?xml")


def test_float32_rerun_checks_the_verdicts_and_a_disagreement_is_undetermined(monkeypatch):
    """The float32 rerun of a batch gives the same verdicts away from the edges (a linear net on 8 digits at
    c = 1, 3, 30: lazy, catapult, divergent); where a precision says otherwise (here: the float32 runs made to
    diverge), the verdict is undetermined and names both."""
    from catapult.numerics.stop import DIVERGED
    from catapult.verify.nets import net_sweep
    kw = dict(task="0,1", activations=["linear"], widths=[64], m=8, c_grid=[1.0, 3.0, 30.0], steps=400)
    r = net_sweep(**kw)
    assert r.table["verdict"].tolist() == ["lazy", "catapult", "divergent"]
    assert r.table["agreed"].tolist() == [True] * 3
    assert r.table["verdict_float32"].tolist() == r.table["verdict"].tolist()
    real = N.run_gd

    def float32_diverges(*a, dtype="float64", **k):
        b = real(*a, dtype=dtype, **k)
        if dtype == "float32":
            b.code[:] = DIVERGED
            b.loss[:, 1] = np.inf
        return b
    monkeypatch.setattr(N, "run_gd", float32_diverges)
    t = net_sweep(**kw).table
    assert t["verdict"].tolist() == ["undetermined", "undetermined", "divergent"]
    assert t["agreed"].tolist() == [False, False, True] and "float32 divergent" in t["reason"][0]
    assert net_sweep(**kw, check=None).table["agreed"].isna().all()


@pytest.mark.slow
def test_net_sweep_on_two_local_processes_equals_the_sweep_here():
    """The architectures are the executor's tasks: two fresh processes give the table computed here."""
    from catapult.verify.nets import net_sweep
    kw = dict(task="0,1", activations=["relu", "tanh"], widths=[16], m=16, c_grid=[1.0, 3.0], steps=60)
    here, there = net_sweep(**kw).table, net_sweep(**kw, jobs=2).table
    assert there.equals(here)


@pytest.mark.parametrize("argv", [
    ["net", "--activation", "eval"], ["net", "--task", "3,3"], ["net", "--task", "even"], ["net", "--c", "-1"],
    ["net", "--width", "0"], ["net", "--data", "/nonexistent.npz"], ["net", "--plot", "x.gif"],
    ["net", "--m", "5000"], ["net", "--task", "0,1", "--m", "1", "--width", "8"], ["net", "--width", "65536", "--depth", "8"],
    ["net-sweep", "--c-grid", "1", "-o", "t.txt"], ["net-sweep", "--c-grid", "nan"], ["net", "--label-noise", "0.7"],
    ["net", "--label-noise", "nan"]])
def test_cli_bad_input_one_line_exit_2(argv):
    code, out, err = _cli(*argv)
    assert code == 2 and err.count("\n") == 1 and err.startswith("catapult: error:"), err


@pytest.mark.slow
def test_user_npz_and_bad_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    good, bad = tmp_path / "g.npz", tmp_path / "b.npz"
    np.savez(good, X=X, y=(X[:, 0] > 0).astype(float))
    np.savez(bad, X=X, y=np.arange(40.0))
    code, out, err = _cli("net", "--data", str(good), "--m", "20", "--width", "16", "--steps", "20", "--json")
    assert code == 0, err and json.loads(out)["meta"]["task"] == "user"
    code, _, err = _cli("net", "--data", str(bad), "--m", "20")
    assert code == 2 and "exactly two values" in err


@pytest.mark.parametrize("n,L,seed,x", [(16, 3, 0, 3.0), (64, 3, 1, 5.0), (64, 4, 2, 2.5)])
def test_deep_linear_net_is_the_deep_model(n, L, seed, x):
    """The JAX linear net built from a DeepLinearModel's weights computes the same f, the same lam0 (its NTK) and
    the same f after one GD step as the model's own float64 GD (catapult.numerics.gd), to rounding."""
    from catapult.numerics.backends import get_backend
    from catapult.numerics.deep import DeepLinearModel
    from catapult.numerics.gd import run_gd
    from catapult.numerics.losses import squared
    from catapult.numerics.stop import StopRule
    m = DeepLinearModel(n, L, seed=seed, init="isometric")
    tr = run_gd(m, squared(), eta_lam0=x, steps=1, backend=get_backend("float64"), gtol=0)
    net, p = N.from_deep_linear(m)
    lam0 = N.ntk_top(net, p, ONE[0])
    assert float(N.forward(net, p, ONE[0])[0]) == pytest.approx(float(tr.f[0]), rel=1e-12)
    assert lam0 == pytest.approx(float(tr.lam[0]), rel=1e-12)
    r = N.run_gd(net, N.stack([p]), *ONE, np.array([x / lam0]), steps=1, rule=StopRule(gtol=0), ltol=0)
    assert r.steps[0] == 1
    f1 = float(N.forward(net, N.unstack(r.params, 0), ONE[0])[0])
    assert f1 == pytest.approx(float(tr.f[1]), rel=1e-12)
    assert f1 != pytest.approx(float(tr.f[0]), rel=1e-3)   # the step moved f: the comparison is not of the init twice


def _deep_rows(cell):
    import importlib
    rows = importlib.import_module("catapult.verify.catalogue.nets").rows_deep(cells=[cell])
    assert [r.id for r in rows] == [f"N-c-L{cell[0]}-n{cell[1]}", f"N-d-L{cell[0]}-n{cell[1]}"]
    for r in rows:
        d = r.to_json()
        assert r.passed, (r.id, r.predicted, r.measured, r.tolerance)
        assert d["measured_value"] is not None and "jax float64" in r.label and "reduced map" in r.label
    c = rows[0]
    # the JAX first divergence sits within the bracket widths of the derived map's mp-confirmed first edge
    assert abs(c.measured_value - c.predicted_value) <= c.tolerance_value < 1e-7


def test_deep_rows_pass_n16():
    """Rows N-c / N-d at L = 3, n = 16: the JAX net's first divergent c is the derived reduced map's first edge
    from the same init (to the search's resolution), and the catapult at c = 4 ends with eta lam_final <= 2."""
    _deep_rows((3, 16))


@pytest.mark.slow
def test_deep_rows_pass_n64():
    _deep_rows((3, 64))


def test_label_noise_flips_exactly_the_recorded_training_labels():
    from catapult.verify.net_data import load_task
    clean = load_task("digits", "even-odd", m=200, test=50)
    noisy = load_task("digits", "even-odd", m=200, test=50, label_noise=0.07, noise_seed=5)
    flipped = np.flatnonzero(noisy.y != clean.y)
    assert len(flipped) == 14 == noisy.meta["flipped_train_labels"] and noisy.meta["label_noise"] == 0.07
    assert np.array_equal(noisy.y[flipped], -clean.y[flipped])
    assert np.array_equal(noisy.y_test, clean.y_test) and np.array_equal(noisy.X, clean.X)   # test labels clean
    expect = np.sort(np.random.default_rng(5).choice(200, 14, replace=False))
    assert np.array_equal(flipped, expect) and clean.meta["noise"] == "none"


def test_sweep_hessian_top_final_is_the_final_nets_hessian():
    """hessian_top_final of a sweep row is hessian_top of that run's final parameters (rerun singly)."""
    from catapult.verify.net_data import load_task
    from catapult.verify.nets import net_sweep
    r = net_sweep("digits", "0,1", widths=[16], seeds=[0], c_grid=[1.0], loss="logistic", steps=20, m=24,
                  label_noise=0.125, hessian=True)
    row = r.table.iloc[0]
    assert row["flipped_train_labels"] == 3
    ds = load_task("digits", "0,1", m=24, label_noise=0.125)
    net = N.Net(2, 16, "relu", loss="logistic")
    p = N.init(net, 64, 0)
    b = N.run_gd(net, N.stack([p]), ds.X, ds.y, np.array([1.0 / N.ntk_top(net, p, ds.X)]), steps=20)
    assert row["hessian_top_final"] == pytest.approx(N.hessian_top(net, N.unstack(b.params, 0), ds.X, ds.y),
                                                     rel=1e-8)
