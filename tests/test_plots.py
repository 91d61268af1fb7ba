"""Figures (catapult.verify.plots, ``catapult plot``): the plotted arrays are the computed data and the derived lines
sit where the theory puts them (read back from the Figure's artists, never pixels); files are produced; bad input is
one line and exit 2."""

import io

import numpy as np
import pandas as pd
import pytest
import sympy as sp

from catapult.theory import thresholds
from catapult.verify import plots
from catapult.verify.cli import main
from catapult.verify.trajectory import trajectory


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _by_gid(ax, gid):
    found = [a for a in ax.get_children() if getattr(a, "get_gid", lambda: None)() == gid]
    assert found, f"no artist {gid!r}"
    return found[0]


def _derived_eta_lam0(model, loss, name, lam0, **kw):
    """The derived threshold in units of eta*lam0, straight from the theory (value at lam0, times lam0)."""
    th = getattr(thresholds(model, loss, **kw), name)
    return float(th.at(lam0) * sp.Float(lam0, 30)) if th.value is not None else None


@pytest.fixture(scope="module")
def uv_trajectory_figure():
    return plots.trajectory_figure("uv", "mse", width=64, seed=1, dps=30)


def test_trajectory_plots_the_tidy_data(uv_trajectory_figure):
    fig = uv_trajectory_figure
    frames = fig.catapult["frames"]
    assert [df.attrs["phase"] for df in frames] == ["lazy", "catapult", "divergent"]
    assert [df.attrs["eta_lam0"] for df in frames] == pytest.approx([1.5, 3.0, 4.25])   # from eta_crit, eta_max
    for j, df in enumerate(frames):
        lam_line = _by_gid(fig.axes[3 + j], f"eta_lam:{j}")
        assert np.array_equal(lam_line.get_xdata(), df.step) and np.array_equal(lam_line.get_ydata(), df.eta_lam)
        loss_line = _by_gid(fig.axes[j], f"loss:{j}")
        assert np.array_equal(loss_line.get_ydata(), df.loss[df.loss > 0])
        again = trajectory("uv", "mse", width=64, seed=1, dps=30, eta_lam0=df.attrs["eta_lam0"])
        assert np.array_equal(again.eta_lam, df.eta_lam) and np.array_equal(again.loss, df.loss)
    cat = frames[1]
    assert cat.eta_lam.iloc[-1] < 2 < cat.eta_lam.iloc[0]                     # catapult: ends below 2
    assert cat.loss.max() > 10 * cat.loss.iloc[0]                              # after the loss rose


def test_trajectory_lines_sit_at_the_derived_thresholds(uv_trajectory_figure):
    fig = uv_trajectory_figure
    lam0 = fig.catapult["frames"][0].attrs["lam0"]
    crit = _by_gid(fig.axes[3], "eta_crit").get_ydata()
    top = _by_gid(fig.axes[3], "eta_max").get_ydata()
    assert crit[0] == crit[1] == pytest.approx(_derived_eta_lam0("uv", "mse", "eta_crit", lam0)) == 2.0
    assert top[0] == top[1] == pytest.approx(_derived_eta_lam0("uv", "mse", "eta_max", lam0)) == 4.0
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("leading order in 1/n" in t and "derived" in t for t in labels)


def test_logistic_trajectory_line_is_2_over_curvature_and_loss_minus_its_minimum():
    """Logistic loss of degenerate data, p = 7/10: eta*lam = 2/(p(1-p)) = 200/21; the loss panel shows L - L(f*)."""
    fig = plots.trajectory_figure("uv", "logistic", p="7/10", width=64, dps=20, eta_lam0s=[5.0, 20.0, 200.0])
    assert _by_gid(fig.axes[3], "eta_crit").get_ydata()[0] == pytest.approx(200 / 21, rel=1e-15)
    lstar = fig.catapult["lstar"]
    assert sp.simplify(lstar - (sp.Rational(7, 10) * sp.log(1 + sp.Rational(3, 7))
                                + sp.Rational(3, 10) * sp.log(1 + sp.Rational(7, 3)))) == 0
    for j, df in enumerate(fig.catapult["frames"]):
        y = _by_gid(fig.axes[j], f"loss:{j}").get_ydata()
        assert np.array_equal(y, df.loss_excess[df.loss_excess > 0])
        big = (df.loss - float(lstar)).abs() > 1e-8
        assert np.allclose(df.loss_excess[big], (df.loss - float(lstar))[big], rtol=1e-6)
    assert [df.attrs["phase"] for df in fig.catapult["frames"]][:2] == ["lazy", "catapult"]
    assert fig.catapult["frames"][1].eta_lam.iloc[-1] < 200 / 21


def test_user_model_file_trajectory_exact_line(tmp_path):
    """The quadratic model file: eta_crit = 2 exactly (lam* = 1), so eta*lam0 = 2 lam0 (measured lam0)."""
    path = "verify/models/quadratic.toml"
    import os
    path = os.path.join(os.path.dirname(os.path.dirname(plots.__file__)), path)
    fig = plots.trajectory_figure(path, "mse", width=64, dps=20, steps=300, eta_lam0s=[1.0, 2.5, 6.0])
    crit = next(ln for ln in fig.catapult["lines"] if ln.name == "eta_crit")
    lam0 = fig.catapult["frames"][0].attrs["lam0"]
    assert crit.exactness == "exact" and crit.eta_lam == 2.0 and crit.eta_lam0 == pytest.approx(2 * lam0, rel=1e-12)
    assert _by_gid(fig.axes[3], "eta_crit").get_ydata()[0] == 2.0


def test_draw_phase_takes_a_tidy_table():
    """The phase drawing needs only (width, eta_lam0, verdict) rows: the cells are the verdict codes."""
    g = pd.DataFrame({"width": [8, 8, 8, 64, 64, 64], "eta_lam0": [1.0, 3.0, 5.0] * 2,
                      "verdict": ["lazy", "catapult", "divergent", "lazy", "undetermined", "divergent"]})
    lines = {w: plots.threshold_lines(plots.Problem.named("uv", "mse"), 1.0) for w in (8, 64)}
    fig = plots.draw_phase(g, lines=lines)
    mesh = _by_gid(fig.axes[0], "verdicts")
    assert np.asarray(mesh.get_array()).tolist() == [[0, 1, 2], [0, 3, 2]]
    crit = _by_gid(fig.axes[0], "eta_crit")
    assert set(np.asarray(crit.get_xdata(), float)[~np.isnan(crit.get_xdata())]) == {2.0}
    assert set(np.asarray(_by_gid(fig.axes[0], "eta_max").get_xdata(), float)[::3]) == {4.0}


def test_phase_figure_cells_lines_and_onsets():
    fig = plots.phase_figure("uv", "mse", widths=[8, 32], eta_lam0s=[1.0, 2.5, 3.5, 4.5, 6.0], dps=15, steps=2000)
    grid, ons = fig.catapult["grid"], fig.catapult["onsets"]
    assert grid.set_index(["width", "eta_lam0"]).verdict.to_dict()[(32, 2.5)] == "catapult"
    codes = np.asarray(_by_gid(fig.axes[0], "verdicts").get_array())
    for r in grid.itertuples():
        assert codes[[8, 32].index(r.width), [1.0, 2.5, 3.5, 4.5, 6.0].index(r.eta_lam0)] == \
            plots.VERDICTS.index(r.verdict)
    onset = _by_gid(fig.axes[0], "onset")
    assert np.allclose(onset.get_xdata(), ons.eta_lam0) and list(onset.get_ydata()) == [8, 32]
    assert ((ons.lo <= ons.eta_lam0) & (ons.eta_lam0 <= ons.hi)).all() and np.allclose(ons.eta_lam0, 4, atol=0.05)
    crit = _by_gid(fig.axes[0], "eta_crit").get_xdata()
    assert np.nanmax(np.abs(np.asarray(crit, float) - 2)) == 0


def test_phase_on_the_depth_axis():
    fig = plots.phase_figure(lambda L: plots.Problem.named("deep", "mse", depth=L), depths=[2, 3], width=4,
                             eta_lam0s=[1.0, 3.0, 7.0], dps=15, steps=2000, onsets=False)
    g = fig.catapult["grid"]
    assert list(g.columns[:3]) == ["depth", "eta_lam0", "verdict"] and sorted(set(g.depth)) == [2, 3]
    top = _by_gid(fig.axes[0], "eta_max")          # derived only for L = 2 (the uv map): one row segment
    assert np.asarray(top.get_xdata(), float)[0] == 4.0 and len(top.get_xdata()) == 3


def test_flatness_figure_data_and_lines():
    losses = {"squared": plots.Problem.named("uv", "mse"),
              "logistic": plots.Problem.named("uv", "logistic", p="7/10")}
    xs = {"squared": [1.0, 3.0, 5.0], "logistic": [5.0, 20.0]}
    fig = plots.flatness_figure(losses=losses, width=64, dps=15, eta_lam0s=xs)
    d = fig.catapult["data"]
    ax = fig.axes[0]
    for name in losses:
        ok = d[(d.loss == name) & d.verdict.isin(["lazy", "catapult"])].sort_values("eta_lam0")
        line = _by_gid(ax, f"final:{name}")
        assert np.array_equal(line.get_xdata(), ok.eta_lam0) and np.array_equal(line.get_ydata(), ok.eta_lam_final)
    assert _by_gid(ax, "eta_crit:squared").get_ydata()[0] == 2.0
    assert _by_gid(ax, "eta_crit:logistic").get_ydata()[0] == pytest.approx(200 / 21)
    assert _by_gid(ax, "eta_max:squared").get_xdata()[0] == pytest.approx(4.0)
    cat = d[d.verdict == "catapult"]
    sq = cat[cat.loss == "squared"].eta_lam_final
    lg = cat[cat.loss == "logistic"].eta_lam_final
    assert len(sq) and len(lg) and (sq < 2).all() and (lg < 200 / 21).all()     # flatter: below 2/l''(f*)
    assert list(d[d.loss == "squared"].verdict) == ["lazy", "catapult", "divergent"]
    assert list(_by_gid(ax, "divergent:squared").get_xdata()) == [5.0]


def test_flatness_legend_keys_only_the_verdicts_on_the_figure():
    """A model without a catapult (only lazy runs here) gets no catapult marker in its legend."""
    import pandas as pd
    d = pd.DataFrame({"loss": ["mse"] * 2, "eta_lam0": [0.5, 1.0], "eta_lam_final": [0.5, 1.0],
                      "verdict": ["lazy", "lazy"]})
    fig = plots.draw_flatness(d, {"mse": plots.threshold_lines(plots.Problem.named("uv", "mse"), 1.0)})
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "lazy" in labels and "catapult" not in labels


def test_deep_figure_uv_depth_is_4_everywhere():
    """L = 2 (the uv map): x*(n) = 4 at every width and the band [4, 4] is exact."""
    fig = plots.deep_figure(2, [100.0, 1e4], nx=12, nn=4)
    ax = fig.axes[0]
    assert np.allclose(_by_gid(ax, "x_star").get_ydata(), 4, atol=1e-9)
    assert np.allclose(_by_gid(ax, "x_star").get_xdata(), [100.0, 1e4])
    assert _by_gid(ax, "band_lo").get_ydata()[0] == _by_gid(ax, "band_hi").get_ydata()[0] == 4.0
    assert fig.catapult["band"]["band_exactness"] == "exact"
    codes = np.asarray(_by_gid(ax, "verdicts").get_array())
    g = fig.catapult["verdicts"]
    assert codes.size == len(g) and (codes == 1).sum() == (g.verdict == "diverges").sum()


def test_deep_figure_depth_3_sawtooth_and_band():
    """L = 3: x*(n) inside the measured band [x_lo, x_hi] of the limit map and not constant (log-periodic)."""
    fig = plots.deep_figure(3, [10.0, 21.5, 100.0, 464.0], nx=40, nn=10, band_levels=3)
    ax = fig.axes[0]
    xs = _by_gid(ax, "x_star").get_ydata()
    lo, hi = fig.catapult["band"]["band"]
    assert _by_gid(ax, "band_lo").get_ydata()[0] == lo and _by_gid(ax, "band_hi").get_ydata()[0] == hi
    assert 5.1 < lo < 5.2 and 6.0 < hi < 6.2
    assert np.all(xs > lo - 1e-3) and np.all(xs < hi) and np.ptp(xs) > 0.3
    assert np.allclose(xs, fig.catapult["first"].x_star)


def test_modes_figure():
    pr = plots.Problem.samples([[1.0, 0.0], [0.0, 0.75]], [0.5, -0.25])
    fig = plots.modes_figure(pr, width=64, dps=20, eta_lam0=3.0)
    df = fig.catapult["frame"]
    a_res, a_lam = fig.axes
    for i in (1, 2):
        assert np.array_equal(_by_gid(a_lam, f"eta_lam:{i}").get_ydata(), df[f"eta_lam{i}"])
        assert np.array_equal(_by_gid(a_res, f"res:{i}").get_ydata(), df[f"res{i}"][df[f"res{i}"] > 0])
    assert df.eta_lam1.iloc[0] == pytest.approx(3.0, rel=1e-12)
    assert _by_gid(a_lam, "eta_crit").get_ydata()[0] == 2.0
    assert df.res1.max() > 2 * df.res1.iloc[0]                  # the top mode (eta lam_1 = 3 > 2) catapults


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_cli_writes_png_and_svg(tmp_path, suffix, magic):
    path = tmp_path / f"t{suffix}"
    code, out, err = _cli(["plot", "trajectory", "--width", "16", "--dps", "15", "--eta-lam0", "1", "3", "5",
                           "-o", str(path)])
    assert code == 0 and err == "" and str(path) in out
    assert path.read_bytes()[:len(magic)] == magic


def test_cli_phase_and_modes_files(tmp_path):
    code, _, err = _cli(["plot", "phase", "--widths", "8", "16", "--eta-lam0", "1", "3", "5", "--dps", "15",
                         "-o", str(tmp_path / "p.png")])
    assert code == 0 and err == "" and (tmp_path / "p.png").stat().st_size > 1000
    code, _, err = _cli(["plot", "modes", "--samples", "2", "--dim", "2", "--data-seed", "0", "--width", "16",
                         "--dps", "15", "-o", str(tmp_path / "m.svg")])
    assert code == 0 and err == "" and (tmp_path / "m.svg").read_text().count("<svg") == 1


@pytest.mark.parametrize("argv", [
    ["plot", "histogram", "-o", "x.png"],                                       # unknown kind
    ["plot", "trajectory", "-o", "x.gif"],                                      # bad suffix
    ["plot", "trajectory", "-o", "/nonexistent-dir/x.png"],                     # unwritable path
    ["plot", "trajectory", "-o", "/"],                                          # a directory
    ["plot", "trajectory", "--eta-lam0", "1", "3", "-o", "{d}/x.png"],          # two values, three needed
    ["plot", "modes", "--eta-lam0", "1", "2", "-o", "{d}/x.png"],
    ["plot", "deep", "--loss-expr", "log(cosh(f))", "-o", "{d}/x.png"],        # the deep scan is squared loss
    ["plot", "trajectory", "--depths", "2", "3", "-o", "{d}/x.png"],
    ["plot", "trajectory", "--width", "0", "-o", "{d}/x.png"],
    ["plot", "trajectory"],                                                     # no -o
])
def test_cli_bad_input_one_line_exit_2(argv, tmp_path):
    code, out, err = _cli([a.format(d=tmp_path) for a in argv])
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("catapult: error:"), err


def test_save_refuses_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        plots.save(plots._figure((2, 2)), tmp_path / "x.pdf")
