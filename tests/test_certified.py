"""Certified verdicts (catapult.numerics.certify via catapult.verify.certified): the balls enclose independent
mpmath iterations, no certified verdict is contradicted by a 200-digit run, the lemmas are true statements on
sampled points and fail (undetermined) where they must, and the literature's eta_max = 4/lam0 lies in the
proven bracket."""

import io
import json
import random
from fractions import Fraction
from functools import lru_cache

import flint
import mpmath
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from catapult.numerics.certify import ball, certify, contraction
from catapult.numerics.reduced import iterate_map
from catapult.theory import derive
from catapult.theory.certificates import U_SYM, W_SYM, escape_lemma, trap_lemma, uw_form
from catapult.verify.bridge import map_step
from catapult.verify.certified import (certified_problem, certified_scan, eta_from, lam0_ball, verdict_at)
from catapult.verify.cli import main
from catapult.verify.deep_thresholds import reduced_run, squared_map

SETTINGS = dict(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=None)
def uv(n, seed):
    return certified_problem("uv", "mse", width=n, seed=seed)


@lru_cache(maxsize=None)
def deep2(n, seed):
    return certified_problem("deep", "mse", width=n, seed=seed, depth=2)


def _balls(pb, eta, steps, dps):
    """The ball orbit of the problem's map (no lemma), at dps digits."""
    old = flint.ctx.prec
    flint.ctx.prec = mpmath.libmp.dps_to_prec(dps)
    try:
        c = [ball(x) for x in pb.consts(eta)]
        Z = [ball(x) for x in pb.init()]
        out = [Z]
        for _ in range(steps):
            Z = pb.bm.step(Z, c)
            out.append(Z)
        return out
    finally:
        flint.ctx.prec = old


def _exact_mid(b):
    """A ball's midpoint as an exact mpmath number."""
    man, exp = b.mid().man_exp()
    return mpmath.mpf((int(man), int(exp))) if man else mpmath.mpf(0)


def _mp_orbit(pb, eta, n, steps, dps, until=None):
    """The uv map compiled to mpmath by map_step (uncertified), from the exact midpoints of the init balls."""
    old = flint.ctx.prec
    flint.ctx.prec = 4 * dps
    try:
        with mpmath.workdps(dps):
            f0, l0 = (_exact_mid(b) for b in pb.init())
    finally:
        flint.ctx.prec = old
    with mpmath.workdps(dps):
        step = map_step(derive("uv", "mse"), eta=mpmath.mpf(eta.numerator) / eta.denominator, n=n)
        return iterate_map(step, {"f": f0, "lam": l0}, steps=steps, dps=dps, until=until)


def _mp_eta(eta, dps=220):
    """The exact learning rate as an mpmath number at ``dps`` digits (not at mpmath's default 15: a 200-digit run
    must step with eta, not with its float64 neighbour)."""
    with mpmath.workdps(dps):
        return mpmath.mpf(eta.numerator) / eta.denominator


def _contains(b, x):
    """The arb ball b contains the mpmath number x (x converted exactly)."""
    return b.contains(ball(x))


@settings(max_examples=12, **SETTINGS)
@given(x=st.fractions(Fraction(1, 4), Fraction(6)), n=st.sampled_from([16, 64, 256]), seed=st.integers(0, 3))
@example(x=Fraction(3), n=64, seed=0)          # catapult
@example(x=Fraction(4), n=64, seed=1)          # the knife edge eta*lam0 = 4 (balls only say what they prove)
def test_uv_balls_contain_the_mpmath_orbit(x, n, seed):
    """Uncertified: the literature-shaped map compiled to mpmath by map_step at 120 digits, started from f0, lam0
    at 120 digits; certified: the ball orbit at 40 digits.  Every mpmath iterate lies in its ball (while the balls
    are finite and narrower than 1)."""
    pb = uv(n, seed)
    eta = eta_from(pb, eta_lam0=x)
    T = 30
    balls = _balls(pb, eta, T, 40)
    states = _mp_orbit(pb, eta, n, T, 120)
    for Z, s in zip(balls, states):
        if not all(z.is_finite() and z.rad() < 1 for z in Z):
            break
        assert _contains(Z[0], s["f"]) and _contains(Z[1], s["lam"])


@settings(max_examples=6, **SETTINGS)
@given(x=st.fractions(Fraction(1, 2), Fraction(5)), seed=st.integers(0, 2))
@example(x=Fraction(5, 2), seed=0)
def test_deep_balls_contain_the_mpmath_orbit(x, seed):
    """The deep (L = 2) ball orbit encloses the mpmath orbit of reduced_run (CompiledMap, 100 digits) from the same
    invariants."""
    n = 16
    pb = deep2(n, seed)
    eta = eta_from(pb, eta_lam0=x)
    T = 20
    balls = _balls(pb, eta, T, 40)
    A, C, rho = (v.mid() for v in pb.consts(eta)[2:])
    with mpmath.workdps(100):
        consts = tuple(mpmath.mpf(str(v.str(90, radius=False))) for v in (A, C, rho))
    lam0 = lam0_ball(pb, 60)
    r = reduced_run(squared_map(2), n, consts, float(eta * Fraction(str(lam0.mid().str(30, radius=False)))),
                    dps=100, steps=T, rule=None, record=True)
    # the run's own eta is x/lam0 in its arithmetic; compare f, lam only where that rounding is below the balls
    for Z, (f, lam) in zip(balls[:5], r.history[:5]):
        fb, lb = pb.bm.observe(Z, [ball(v) for v in pb.consts(eta)])
        tol = flint.arb(0, 1e-20)
        assert (fb + tol).contains(ball(f)) and (lb + tol).contains(ball(lam))


def _mp_verdict(pb, eta, n, steps=4000):
    """A 200-digit mpmath run of the derived uv map with run_gd's stop rule: True (diverged), False (converged),
    None (budget)."""
    with mpmath.workdps(200):
        states = _mp_orbit(pb, eta, n, steps, 200,
                           until=lambda t, s: abs(s["f"]) > 1e8 * mpmath.sqrt(n) or abs(s["f"]) < 1e-60)
        f = states[-1]["f"]
        return True if abs(f) > 1e8 * mpmath.sqrt(n) else False if abs(f) < 1e-60 else None


@settings(max_examples=8, **SETTINGS)
@given(x=st.fractions(Fraction(1, 2), Fraction(6)), n=st.sampled_from([64, 256]), seed=st.integers(0, 2))
@example(x=Fraction(399, 100), n=64, seed=0)
@example(x=Fraction(401, 100), n=64, seed=0)
def test_certified_verdict_never_contradicted_by_200_digits(x, n, seed):
    pb = uv(n, seed)
    eta = eta_from(pb, eta_lam0=x)
    v = verdict_at(pb, eta, steps=4000, dps=30)
    mp = _mp_verdict(pb, eta, n)
    if v.verdict == "converged":
        assert mp is not True
    elif v.verdict == "divergent":
        assert mp is not False
    # the lemmas decide every uv point off the knife edge eta*lam0 = 4
    assert v.verdict in ("converged", "divergent")


def test_deep3_certified_verdicts_agree_with_200_digit_runs():
    pb = certified_problem("deep", "mse", width=16, seed=0, depth=3)
    A, C, rho = (float(v.mid()) for v in pb.consts(1)[2:])
    for x in (Fraction(3, 2), Fraction(5, 2), Fraction(9)):
        eta = eta_from(pb, eta_lam0=x)
        v = verdict_at(pb, eta, steps=3000, dps=30)
        r = reduced_run(squared_map(3), 16, (A, C, rho), float(x), dps=200, steps=3000)
        if v.verdict == "converged":
            assert not r.stop.diverged
        if v.proof == "runaway bound only":
            assert r.stop.diverged


@lru_cache(maxsize=None)
def quadratic(n, seed):
    """f = (|u|^2 - n)/(2 sqrt(n)): its NTK lam = |u|^2/n = 1 + 2 f/sqrt(n) is slaved to f, and f moves alone."""
    from catapult.verify.model_files import EXAMPLES
    return certified_problem(EXAMPLES["quadratic"], "mse", width=n, seed=seed)


def _gd200(pb, eta, n, seed, steps=3000):
    """The verdict of parameter GD on the quadratic model's actual u at 200 digits (an independent computation:
    no reduced map), True / False / None as :func:`_mp_verdict`."""
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    from catapult.numerics.losses import squared
    tr = run_gd(pb.model, squared(), eta=_mp_eta(eta), steps=steps,
                backend=get_backend("mpmath", 200), record=False, gtol=1e-60)
    return tr.stop.verdict


@settings(max_examples=8, **SETTINGS)
@given(x=st.fractions(Fraction(1, 4), Fraction(8)), seed=st.integers(0, 2))
@example(x=Fraction(3, 2), seed=0)     # converges: residual contraction with lam slaved to f
@example(x=Fraction(39, 10), seed=0)   # diverges: the escape interval
@example(x=Fraction(5, 2), seed=0)     # eta > 2 at the only minimum: no stable minimum, undetermined
def test_quadratic_model_verdicts_are_proven_and_never_contradicted_by_200_digit_gd(x, seed):
    n = 16
    pb = quadratic(n, seed)
    eta = eta_from(pb, eta_lam0=x)
    v = verdict_at(pb, eta, steps=3000, dps=30)
    gd = _gd200(pb, eta, n, seed)
    if v.verdict == "converged":
        assert gd is False and v.proof == "residual contraction"
        assert abs(v.limit["f"][0]) <= v.limit["f"][1] + 1e-300   # the limit is the minimum f = 0 ...
        assert abs(v.limit["lam"][0] - 1) <= v.limit["lam"][1] + 1e-12   # ... where lam = 1 + 2 f/sqrt(n) = 1
    elif v.verdict == "divergent":
        assert gd is True and v.proof == "escape interval"
    if gd is True and x >= 3:   # the escape interval must prove what 200-digit GD sees (e.g. the pin 39/10)
        assert v.verdict == "divergent"
    if v.verdict == "undetermined":
        # f = 0 is the only minimum and there eta*lam = eta: for eta >= 2 no minimum is stable (nothing to prove)
        assert eta * 1 >= Fraction(2) * Fraction(99, 100) or gd is None


def test_escape_interval_certificate_holds_on_sampled_points():
    """|P(f)| >= 2 |f| on |f| >= X where the certificate's coefficients are >= 0 (exact rationals, P the quadratic
    model's f-map at eta = 3/2, n = 16)."""
    from catapult.theory.certificates import X_SYM, escape_interval_lemma
    from catapult.theory.symbols import eta, f, n
    lemma = escape_interval_lemma(quadratic(16, 0).rmap)
    vals = {eta: Fraction(3, 2), n: 16}
    P = lemma.P.subs(vals)
    rng = random.Random(3)
    proven = 0
    for X in (Fraction(k, 2) for k in range(1, 41)):
        if all(sp_c.subs(vals).subs(X_SYM, X) >= 0 for sp_c in lemma.plus + lemma.minus):
            proven += 1
            for _ in range(30):
                x = (X + Fraction(rng.randint(0, 10 ** 6), 10 ** rng.randint(0, 4))) * rng.choice([-1, 1])
                assert abs(P.subs(f, x)) >= 2 * abs(x)
    assert proven >= 20    # the certificate holds for every X large enough


def test_slaved_coordinate_is_left_out_of_the_contraction_box():
    from catapult.theory.certificates import residual_lemma
    r = residual_lemma(quadratic(16, 0).rmap)
    assert r.reason == "" and r.slaved == ["lam"] and sorted(r.drift) == ["f"]
    assert residual_lemma(derive("uv", "mse")).slaved == []


# --- the lemmas: true on sampled points, failing where they must --------------------------------------------

def test_escape_cone_is_invariant_and_grows_on_sampled_points():
    m, h = uw_form(derive("uv", "mse"))
    e = escape_lemma(derive("uv", "mse"))
    rng = random.Random(1)
    for _ in range(200):
        u = e.U + Fraction(rng.randint(0, 10 ** 6), 10 ** rng.randint(0, 6))
        w = e.k * u + Fraction(rng.randint(0, 10 ** 6), 10 ** rng.randint(0, 6))
        mm = m.subs({U_SYM: u, W_SYM: w})
        u2 = u + w * h.subs({U_SYM: u, W_SYM: w})
        w2 = w * mm ** 2
        assert u2 >= e.U and w2 >= e.k * u2 and abs(mm) >= e.Q > 1


def test_trap_is_invariant_and_u_decreases_on_sampled_points():
    m, h = uw_form(derive("uv", "mse"))
    t = trap_lemma(derive("uv", "mse"))
    rng = random.Random(2)
    for _ in range(300):
        u = Fraction(rng.randint(0, 3999999), 10 ** 6)
        w = u * u / 4 * Fraction(rng.randint(0, 1000), 1000)
        u2 = u + w * h.subs(U_SYM, u)
        w2 = w * m.subs({U_SYM: u, W_SYM: w}) ** 2
        assert 0 <= u2 <= u and t.invariant.subs({U_SYM: u2, W_SYM: w2}) >= 0


def test_lemmas_not_derived_where_they_do_not_apply():
    assert "quadratic" in escape_lemma(derive("uv", "logistic")).reason
    assert trap_lemma(derive("deep", depth=3)).reason
    assert uw_form(derive("uv", "log(cosh(f))"))[0] is None


def test_contraction_fails_on_the_unstable_part_of_the_line_of_minima():
    """f = 1e-30 at eta*lam = 3: the line f = 0 is repelling there (|1 - eta lam| = 2), no box contracts."""
    pb = uv(64, 0)
    old = flint.ctx.prec
    flint.ctx.prec = 200
    try:
        c = [ball(x) for x in pb.consts(Fraction(3, 2))]
        assert contraction(pb.bm, [ball(Fraction(1, 10 ** 30)), ball(2)], c) is None
        assert contraction(pb.bm, [ball(Fraction(1, 10 ** 30)), ball(1)], c)["q"] < 1    # eta lam = 3/2
        assert not pb.bm.trap.holds([ball(Fraction(1, 10)), ball(Fraction(8, 3))], c)   # eta lam = 4
        assert not pb.bm.escape.holds([ball(Fraction(1, 10)), ball(Fraction(8, 3))], c)
    finally:
        flint.ctx.prec = old


def test_knife_edge_is_undetermined():
    """eta*lam = 4 exactly (exact rational init): lam never moves, w = eta^2 f^2/n stays in the chaotic [0, 4];
    neither lemma applies, and the verdict says so instead of guessing."""
    pb = uv(64, 0)
    v = certify(pb.bm, lambda: [Fraction(1, 2), 2], lambda: [Fraction(2), 64], steps=300, dps=30, retries=1)
    assert v.verdict == "undetermined" and v.proof is None


def test_logistic_non_separable_converges_to_its_minimiser():
    """p = 7/10 (non-separable degenerate data): the loss has its minimum at f* = log(p/(1-p)); the proven limit
    encloses it (residual contraction: no escape or trap lemma for a non-quadratic loss)."""
    pb = certified_problem("uv", "logistic", width=16, p="7/10")
    v = verdict_at(pb, eta_from(pb, eta_lam0=1), steps=3000, dps=30, retries=0)
    mid, rad = v.limit["f"]
    assert v.verdict == "converged" and v.proof == "residual contraction" and set(pb.bm.reasons) == {"escape", "trap"}
    assert abs(mid - float(mpmath.log(mpmath.mpf(7) / 3))) <= rad + 1e-12


def test_separable_logistic_is_undetermined():
    """log(1 + exp(-f)) (separable data): no minimiser, GD converges to no point (Wu et al.: f -> oo), so no
    lemma applies and the verdict is undetermined."""
    pb = certified_problem("uv", "log(1 + exp(-f))", width=16)
    v = verdict_at(pb, eta_from(pb, eta_lam0=1), steps=500, dps=30, retries=0)
    assert v.verdict == "undetermined" and v.proof is None


# --- literature facts ------------------------------------------------------------------------------------------

def test_catapult_limit_obeys_lewkowycz_lam_inf_le_2_over_eta():
    """Theorem 1 (catapult phase): lam_inf <= 2/eta; the proven limit enclosure of lam says so."""
    pb = uv(256, 0)
    for x in (Fraction(5, 2), Fraction(3), Fraction(7, 2)):
        eta = eta_from(pb, eta_lam0=x)
        v = verdict_at(pb, eta, steps=5000, dps=30, refine=True)
        mid, rad = v.limit["lam"]
        assert v.verdict == "converged" and mid + rad <= 2 / float(eta)


def test_literature_eta_max_in_the_proven_bracket():
    """eta_max = 4/lam0 (Lewkowycz et al.): inside a proven bracket of relative width 1e-15 at n = 256."""
    s = certified_scan("uv", "mse", width=256, seed=3, rtol=1e-15)
    d = s.to_json()
    lam0 = Fraction(lam0_ball(uv(256, 3), 60).mid().str(60, radius=False))
    assert d["proven"] and s.bracket.lo * lam0 < 4 * (1 + Fraction(1, 10 ** 40)) and s.bracket.hi * lam0 > 4 * (
        1 - Fraction(1, 10 ** 40))
    assert d["proof_lo"]["proof"] == "monotone trap" and d["proof_hi"]["proof"] == "escape cone"


# --- CLI ---------------------------------------------------------------------------------------------------------

def run(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_run_certified_json():
    code, out, _ = run(["run", "uv", "--width", "64", "--eta-lam0", "5", "--certified", "--json"])
    d = json.loads(out)
    assert code == 0 and d["verdict"] == "divergent" and d["proof"] == "escape cone"
    assert set(d["enclosures"]) >= {"f", "lam"} and d["enclosures"]["f"]["rad"] >= 0
    assert d["parameter_gd"]["growth_per_step"] > 1


def test_cli_scan_certified_json():
    code, out, _ = run(["scan", "uv", "--width", "64", "--certified", "--rtol", "1e-12", "--json"])
    d = json.loads(out)
    assert code == 0 and d["proven"] and d["rel_width"] <= 1e-12 and d["predicted"]["inside_bracket"]
    assert d["exactness"] == "proven (ball arithmetic) at both ends" and d["proof_hi"]["proof"] == "escape cone"


@pytest.mark.parametrize("name", ["uv_bias", "two_outputs"])
def test_certified_scan_of_a_model_file_without_a_derived_eta_max(name):
    """No eta_max is derived for a map with moving extra state or several outputs: the certified bisection starts
    from parameter GD's measured divergence onset, its lower end is proven convergent, and its upper end, with
    no escape lemma for these maps, proves the runaway bound only -- and the labels say exactly that.  The
    bracket sits inside the measured onset's widened bracket (the exact map's orbit is GD's)."""
    from catapult.verify.model_files import EXAMPLES
    code, out, _ = run(["scan", "--model-file", EXAMPLES[name], "--width", "16", "--certified", "--rtol", "1e-9",
                        "--json"])
    d = json.loads(out)
    assert code == 0 and d["proven"] and d["rel_width"] <= 1e-9
    assert d["predicted"]["eta_max"] is None and d["predicted"]["reason"].startswith("not derived")
    assert d["proof_lo"]["verdict"] == "converged" and d["hi_proves"] == "runaway bound only"
    assert "runaway bound" in d["exactness"] and "at both ends" not in d["exactness"]
    start = [float(x) for x in d["predicted"]["start"]["eta_lam0"]]
    assert start[0] <= float(d["eta_lam0_bracket"][0]) <= float(d["eta_lam0_bracket"][1]) <= start[1]


@pytest.mark.parametrize("argv", [
    ["scan", "uv", "--width", "64", "--certified", "--rtol", "1e-70"],
    ["scan", "uv", "--width", "8", "--certified", "--samples", "2", "--dim", "2", "--data-seed", "0",
     "--rtol", "1e-61"],
    ["run", "deep", "--depth", "3", "--width", "16", "--eta-lam0", "2", "--certified", "--init", "gaussian"],
    ["run", "uv", "--width", "8", "--eta-lam0", "2", "--certified", "--trace", "3"],
])
def test_cli_certified_bad_input_is_one_line_and_exit_2(argv):
    code, out, err = run(argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and err.startswith("catapult: error:")


# --- many samples: the vector residual-contraction lemma ---------------------------------------------------

def _samples(m, d, seed):
    from catapult.verify.data import random_data
    return random_data(m, d, seed)


@lru_cache(maxsize=None)
def samples_problem(m, d, data_seed, n, seed):
    return certified_problem("uv", "mse", width=n, seed=seed, samples=_samples(m, d, data_seed))


@settings(max_examples=6, **SETTINGS)
@given(x=st.fractions(Fraction(1, 4), Fraction(5)), md=st.sampled_from([(1, 1), (2, 2), (2, 3), (3, 2)]),
       seed=st.integers(0, 2))
@example(x=Fraction(3, 2), md=(2, 2), seed=0)     # proven: the two samples are interpolated
@example(x=Fraction(3), md=(2, 2), seed=0)        # eta*lam_max(Theta0) = 3: a catapult of the top mode
@example(x=Fraction(3, 2), md=(3, 2), seed=0)     # m > d: no interpolating minimum, nothing to prove
def test_samples_verdicts_are_never_contradicted_by_200_digit_gd(x, md, seed):
    """A proven convergence of the invariant map means GD on the actual vectors interpolates the samples: 200-digit
    parameter GD (no reduced map) must converge, to outputs inside the proven limit box."""
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    n = 16
    m, d = md
    pb = samples_problem(m, d, 0, n, seed)
    eta = eta_from(pb, eta_lam0=x)
    v = verdict_at(pb, eta, steps=3000, dps=30, retries=1)
    X, Y = _samples(m, d, 0)
    from catapult.verify.problems import numeric_problem
    model, nl, _ = numeric_problem("uv", "mse", n, seed, samples=(X, Y))
    tr = run_gd(model, nl, eta=_mp_eta(eta), steps=6000,
                backend=get_backend("mpmath", 200), record=False, gtol=1e-50, observe=True)
    if v.verdict == "converged":
        assert v.proof == "residual contraction" and tr.stop.verdict is False
        outs = tr.observed[-1]["outputs"]
        for a in range(m):
            mid, rad = v.limit[f"f{a + 1}"]
            assert abs(mid - float(Y[a])) <= rad + 1e-12          # the limit box holds the interpolating minimum
            assert abs(float(outs[a]) - float(Y[a])) < 1e-20       # ... and GD reaches it
    if v.proof == "runaway bound only":
        assert tr.stop.verdict is True    # the proven runaway bound is the stop rule's divergence criterion
    if m > d:
        assert v.verdict != "converged"   # rank Theta <= d < m: the samples cannot all be fitted


def test_cli_run_and_scan_certified_samples(capsys):
    """run: a proven fit of 2 samples.  scan: no eta_max is derived for m samples, so the bisection starts from
    parameter GD's measured onset; its lower end is a proven fit, its upper end the runaway bound only (no escape
    lemma for several outputs), and the bracket lies inside the measured onset's widened bracket.  With m > d no
    minimum fits every sample: nothing is proven convergent, and the bracket says it is not proven."""
    assert main(["run", "uv", "--samples", "2", "--dim", "2", "--data-seed", "0", "--width", "64", "--eta-lam0", "1.5",
                 "--certified", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["verdict"] == "converged" and set(d["enclosures"]) >= {"f1", "f2", "vv"} and d["limit"]["f1"]["rad"] > 0
    assert "contraction" not in d["lemmas_not_derived"] and "escape" in d["lemmas_not_derived"]
    assert main(["scan", "uv", "--samples", "2", "--dim", "2", "--data-seed", "0", "--width", "64", "--certified",
                 "--rtol", "1e-9", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["proven"] and d["rel_width"] <= 1e-9 and d["predicted"]["eta_max"] is None
    assert d["proof_lo"]["proof"] == "residual contraction" and d["hi_proves"] == "runaway bound only"
    start = [float(x) for x in d["predicted"]["start"]["eta_lam0"]]
    assert start[0] <= float(d["eta_lam0_bracket"][0]) <= float(d["eta_lam0_bracket"][1]) <= start[1]
    assert main(["scan", "uv", "--samples", "2", "--dim", "1", "--width", "8", "--certified", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert not d["proven"] and d["proof_lo"]["verdict"] != "converged" and d["exactness"].startswith("not proven")


@lru_cache(maxsize=None)
def user_problem(name, n, seed):
    """A model file's certified problem: uv_bias (a one-output map on (f, lam, b)) or two_outputs (the Gram state of
    two outputs sharing u, the vector residual lemma)."""
    from catapult.verify.model_files import EXAMPLES
    return certified_problem(EXAMPLES[name], "mse", width=n, seed=seed)


def _gd200_observed(pb, eta, steps, gtol=0):
    """Parameter GD on the model file's actual vectors and scalars at 200 digits (no reduced map), every step's
    outputs, NTK matrix and Gram state recorded."""
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    from catapult.numerics.losses import squared
    return run_gd(pb.model, squared(), eta=_mp_eta(eta), steps=steps,
                  backend=get_backend("mpmath", 200), gtol=gtol, observe=True)


def _gd_coordinates(pb, obs):
    """The map's state coordinates read off one observed GD step (f and lam, else Gram entries and scalars)."""
    from catapult.verify.user_models import _state_name
    out = []
    for sym in pb.rmap.state:
        name = str(sym)
        if name == "f":
            out.append(obs["outputs"][0])
        elif name == "lam":
            out.append(obs["ntk"][0][0])
        else:
            out.append(obs["state"][_state_name(pb.model_definition.model, sym)])
    return out


@settings(max_examples=6, **SETTINGS)
@given(x=st.fractions(Fraction(1, 4), Fraction(5)), name=st.sampled_from(["uv_bias", "two_outputs"]),
       seed=st.integers(0, 2))
@example(x=Fraction(3, 2), name="uv_bias", seed=0)      # lazy: proven on (f, lam, b)
@example(x=Fraction(3), name="uv_bias", seed=0)         # catapult, b moving with f
@example(x=Fraction(3), name="two_outputs", seed=0)     # catapult of the top NTK mode of two outputs
def test_model_files_with_extra_state_balls_hold_200_digit_gd_and_verdicts_agree(x, name, seed):
    """Certified model files beyond (f, lam): the ball orbit of the derived map (40 digits) holds every state of
    200-digit parameter GD on the actual parameters while the balls are narrow, and a proven convergence is
    GD's: it converges, to outputs inside the proven limit box (the minimum f = 0 of f^2/2)."""
    n = 16
    pb = user_problem(name, n, seed)
    eta = eta_from(pb, eta_lam0=x)
    T = 25
    tr = _gd200_observed(pb, eta, T)
    for Z, obs in zip(_balls(pb, eta, T, 40), tr.observed):
        if not all(z.is_finite() and z.rad() < 1 for z in Z):
            break
        assert all(_contains(z, g) for z, g in zip(Z, _gd_coordinates(pb, obs)))
    v = verdict_at(pb, eta, steps=3000, dps=30, retries=1)
    gd = _gd200_observed(pb, eta, 6000, gtol=1e-50)
    if v.verdict == "converged":
        assert v.proof == "residual contraction" and gd.stop.verdict is False
        outs = gd.observed[-1]["outputs"]
        for a, key in enumerate([k for k in v.limit if k.startswith("f")]):
            mid, rad = v.limit[key]
            assert abs(mid) <= rad + 1e-12 and abs(float(outs[a])) < 1e-20
    if v.proof == "runaway bound only":
        assert gd.stop.verdict is True


@pytest.mark.parametrize("name", ["uv_bias", "two_outputs"])
def test_a_label_enters_the_certified_map(name):
    """(f - y)^2/2 with y = 1 given as a value: the certified map is derived with y = 1 (it was refused as a free
    parameter, or crashed for several outputs), its proven limit box holds the minimum f = 1 of every output, and
    200-digit parameter GD on the actual parameters converges there."""
    from catapult.numerics.backends import get_backend
    from catapult.numerics.gd import run_gd
    from catapult.theory import mse
    from catapult.verify.certified import certified_run
    from catapult.verify.model_files import EXAMPLES
    from catapult.verify.problems import numeric_problem
    r = certified_run(EXAMPLES[name], mse("y"), width=16, eta_lam0=1, y=1.0, steps=3000)
    v = r.verdict
    assert v.verdict == "converged" and v.proof == "residual contraction"
    outs = [k for k in v.limit if k.startswith("f")]
    assert outs and all(abs(v.limit[k][0] - 1) <= v.limit[k][1] for k in outs)
    model, nl, _ = numeric_problem(EXAMPLES[name], mse("y"), 16, 0, y=1.0)
    tr = run_gd(model, nl, eta=_mp_eta(r.eta), steps=6000, backend=get_backend("mpmath", 200), gtol=1e-50,
                observe=True, record=False)
    assert tr.stop.verdict is False and all(abs(float(o) - 1) < 1e-20 for o in tr.observed[-1]["outputs"])
