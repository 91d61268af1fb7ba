"""Tests of catapult.theory.parse: user strings become SymPy without ever being executed, within named size caps.

Facts asserted: a string that would run code if evaluated raises TheoryInputError (API) or exits 2 with one
stderr line (CLI), and leaves no file behind; the grammar's numbers are the exact rationals of their decimal
text; every whitelisted function is evaluated by the three numeric backends to the value SymPy computes
(so whatever ``derive`` accepts, ``run`` can evaluate); huge inputs are refused with the limit named.
"""

import io
import os
import signal
from contextlib import contextmanager

import pytest
import sympy as sp
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from catapult.theory import Loss, TheoryInputError, as_loss, mse
from catapult.theory.loss import logistic
from catapult.theory.parse import FUNCTIONS, MAX_COMPOUND_EXPONENT, MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, \
    exact_value, parse_expression, parse_number
from catapult.theory.samples import data_matrix
from catapult.theory.symbols import f, p, y
from catapult.verify.bridge import numeric_loss
from catapult.verify.cli import main

LOSS_NAMES = {"f": f, "y": y, "p": p}


def _injections(target):
    """Strings that create ``target`` if evaluated as Python (each was executed by sympy.parse_expr)."""
    t = str(target)
    return [
        f"f**2 + 0*__import__('os').system('touch {t}')",
        f"__import__('os').system('touch {t}')",
        f"open('{t}','w').write('x')",
        f"f**2 + 0*len(open('{t}','w').write('x'))",
        f'exec("open(\'{t}\',\'w\').write(\'x\')")',
        f"getattr(__import__('os'),'system')('touch {t}')",
        f"(lambda: __import__('os').system('touch {t}'))()",
        f"__import__('subprocess').call(['touch','{t}'])",
        "().__class__.__bases__[0].__subclasses__()",
        "f.__class__",
        "[x for x in ()]",
        "f if 1 else 0",
        f"f**2 + (__import__('os').system('touch {t}') if 1 else 0)",
        f"f**2 + [__import__('os').system('touch {t}') for _ in 'a'][0]",
    ]


@contextmanager
def _guard(seconds=10):
    """A generous hang guard (not a timing assertion): a cap that fails to refuse up front would block here."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- injection through the API -------------------------------------------------------------------------------

API_ENTRY_POINTS = {
    "Loss.parse": lambda s: Loss.parse(s),
    "as_loss": lambda s: as_loss(s),
    "mse(label=)": lambda s: mse(label=s),
    "logistic(p)": lambda s: logistic(s),
    "Loss.subs": lambda s: mse("y").subs({"y": s}),
    "numeric_loss(y=)": lambda s: numeric_loss(mse("y"), y=s),
    "data_matrix": lambda s: data_matrix(1, 1, [[s]]),
    "exact_value": lambda s: exact_value(s, "value"),
}


@pytest.mark.parametrize("entry", sorted(API_ENTRY_POINTS))
def test_injection_strings_raise_and_run_nothing_through_the_api(entry, in_tmp):
    target = in_tmp / "pwned"
    for text in _injections(target) + _injections("X"):
        with pytest.raises(TheoryInputError):
            API_ENTRY_POINTS[entry](text)
    assert os.listdir(in_tmp) == [], "a string was executed"


def test_loss_refuses_a_string_directly():
    with pytest.raises(TheoryInputError):
        Loss("f**2 + 0*__import__('os').getcwd()")


# --- injection through the CLI -------------------------------------------------------------------------------

CLI_COMMANDS = {
    "derive": ["derive", "uv"],
    "thresholds": ["thresholds", "uv"],
    "run": ["run", "uv", "--width", "4", "--eta", "0.1", "--steps", "5"],
    "scan": ["scan", "uv", "--width", "4", "--steps", "5"],
}


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", sorted(CLI_COMMANDS))
@pytest.mark.parametrize("option", ["--loss-expr", "--label"])
def test_injection_strings_exit_2_with_one_line_and_run_nothing_through_the_cli(command, option, in_tmp):
    for text in _injections(in_tmp / "pwned") + _injections("X"):
        argv = CLI_COMMANDS[command] + [option, text]
        if option == "--label":
            argv += ["--loss-expr", "(f - y)**2/2"]
        code, out, err = _cli(argv)
        assert code == 2 and out == "", (argv, out)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert ("loss expression" if option == "--loss-expr" else "--label") in err, err  # refused by the parser
    assert os.listdir(in_tmp) == [], "a string was executed"


@pytest.mark.parametrize("argv", [
    ["derive", "uv", "--loss-expr", ""],          # once silently mse
    ["derive", "uv", "--loss-expr", "   "],
    ["derive", "uv", "--label", "1/0"],
    ["derive", "uv", "--label", "inf"],
    ["derive", "uv", "--label", "nan"],
    ["derive", "uv", "--label", "1e400"],
    ["derive", "uv", "--loss", "logistic", "--p", "1/0"],
    ["derive", "uv", "--loss", "logistic", "--p", "nan"],
    ["derive", "uv", "--loss", "logistic", "--z", "1", "-1", "--r", "1/0", "1"],
    ["derive", "uv", "--loss", "logistic", "--z", "1", "-1", "--r", "1e400", "1"],
    ["derive", "uv", "--loss", "logistic", "--z", "1", "-1", "--r", "inf", "1"],
    ["derive", "uv", "--loss-expr", "LambertW(f)"],
    ["thresholds", "uv", "--loss-expr", "f**2 + 10**10**10"],
])
def test_bad_numbers_and_expressions_exit_2_with_one_line(argv):
    with _guard():
        code, out, err = _cli(argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (argv, err)


def test_cli_label_is_exact():
    # --label 1/3 is the rational 1/3: the minimiser of (f - 1/3)**2/2 is printed exactly
    code, out, _ = _cli(["derive", "uv", "--label", "1/3"])
    assert code == 0 and "1/3" in out


# --- the grammar: what is accepted and what it means ---------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("0.1", sp.Rational(1, 10)),                 # the decimal, not the binary double 0.1000000000000000055...
    ("1e-3", sp.Rational(1, 1000)),
    ("2.5E2", sp.Integer(250)),
    ("1_000", sp.Integer(1000)),
    ("2**-2", sp.Rational(1, 4)),
    ("-f**2", -(f**2)),                          # ** binds tighter than unary minus
    ("f**2**3", f**8),                           # ** is right-associative: f**(2**3)
    ("1/3*f", f / 3),
    ("pi + E", sp.pi + sp.E),
    ("sqrt(1 + f**2)", sp.sqrt(1 + f**2)),
    ("p*log(1 + exp(-f)) + (1 - p)*log(1 + exp(f))", p * sp.log(1 + sp.exp(-f)) + (1 - p) * sp.log(1 + sp.exp(f))),
    ("2**f", 2**f),
    ("+f - -y", f + y),
])
def test_accepted_forms_mean_what_python_math_means(text, expected):
    assert parse_expression(text, LOSS_NAMES) == expected


def test_parsed_symbols_are_the_engine_symbols():
    e = parse_expression("f*y*p", LOSS_NAMES)
    assert e.free_symbols == {f, y, p}  # real f, positive p: the assumptions come with the caller's symbols


@pytest.mark.parametrize("text, construct", [
    ("f.real", "attribute"), ("f[0]", "subscript"), ("lambda: f", "lambda"), ("exp(x=f)", "keyword"),
    ("'f'", "string"), ("f < 1", "comparison"), ("f and 1", "and/or"), ("f if 1 else 0", "conditional"),
    ("[f]", "list"), ("(f, f)", "tuple"), ("{f}", "set"), ("f % 2", "%"), ("f // 2", "//"), ("~f", "~"),
    ("1j*f", "imaginary"), ("True*f", "True"), ("q*f", "unknown name q"), ("foo(f)", "foo"),
    ("Abs(f)", "Abs"), ("LambertW(f)", "LambertW"), ("zeta(f)", "zeta"), ("factorial(f)", "factorial"),
    ("besselj(0, f)", "besselj"), ("Integral(f**2, f)", "Integral"), ("Sum(f, (f, 0, 3))", "Sum"),
    ("Mod(f, 1)", "Mod"), ("gamma(f)", "gamma"), ("log(f, 2)", "one argument"), ("(f := 2)", ":="),
    ("f**f", "tower"), ("exp(f)**f", "tower"), ("2**2**f", "tower"), ("1/0", "division by zero"),
    ("f/(f - f)", "division by zero"), ("0**-1", "division by zero"), ("log(0)*f", "not finite"),
    ("sqrt(-1)*f", "not real"), ("(-8)**(1/3)*f", "not real"), ("I*f", "unknown name I"),
    ("oo*f", "unknown name oo"), ("f +* 2", "syntax"), ("", "empty"), ("f**2 \x00", "null"),
])
def test_refused_forms_name_the_construct(text, construct):
    with pytest.raises(TheoryInputError) as info:
        parse_expression(text, LOSS_NAMES, "loss expression")
    msg = str(info.value)
    assert construct in msg and len(msg.splitlines()) == 1, msg


# --- caps: refused up front, the limit named -----------------------------------------------------------------

@pytest.mark.parametrize("text, limit", [
    ("(f+1)**5000", str(MAX_COMPOUND_EXPONENT)),
    ("f**10**6", str(MAX_EXPONENT)),
    ("f**2 + 10**10**10", str(MAX_EXPONENT)),
    ("10**10**10**10", str(MAX_EXPONENT)),
    ("f**f**f**f", "tower"),
    ("+".join(["f"] * 20000), str(MAX_LENGTH)),
    ("(" * 500 + "f" + ")" * 500, str(MAX_DEPTH)),
    ("-" * 500 + "f", str(MAX_DEPTH)),
    ("exp(" * 60 + "f" + ")" * 60, str(MAX_DEPTH)),
    ("factorial(10**9)*f**2", "factorial"),
    ("f" + "+f" * 999, "1000"),                  # node count
    ("1e400*f", "1e300"), ("1e-400*f", "1e-300"), ("1e999999999*f", "1e300"),
    ("1" * 101 + "*f", "100"),                   # literal digits
    ("(1 + 1e-300)**1000*f", "600"),            # the number it would make
    ("1e300*1e300*1e300*f", "600"),
    ("(((2**64)**64)**64)*f", "600"),
])
def test_huge_inputs_are_refused_with_the_limit_named(text, limit):
    with _guard():
        with pytest.raises(TheoryInputError) as info:
            Loss.parse(text)
    assert limit in str(info.value), str(info.value)


def test_caps_leave_ordinary_large_losses_alone():
    # a 50-point degenerate logistic written out, and a degree-64 power of a compound base
    text = " + ".join(f"log(1 + exp(-{k}*f/7))/50" for k in range(1, 51))
    assert len(Loss.parse(text).expr.args) == 50
    assert Loss.parse("(1 + f**2)**64/64").d1 == sp.diff((1 + f**2) ** 64 / 64, f)
    assert Loss.parse("f**1000").d2 == 999000 * f**998


# --- numbers -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("3/4", sp.Rational(3, 4)), ("-1.5e-3", sp.Rational(-3, 2000)), (" 0.1 ", sp.Rational(1, 10)),
    ("2/3.5", sp.Rational(4, 7)), ("1e300", sp.Integer(10) ** 300), ("-0", sp.Integer(0)),
])
def test_parse_number_is_exact(text, value):
    assert parse_number(text, "--label") == value


@pytest.mark.parametrize("text, word", [
    ("1/0", "division by zero"), ("inf", "must be a number"), ("-inf", "must be a number"),
    ("nan", "must be a number"), ("1e400", "out of range"), ("1e-400", "out of range"),
    ("1e999999999", "out of range"), ("1e300/1e-300", "out of range"), ("", "must be a number"),
    ("1/2/3", "must be a number"), ("sqrt(2)", "must be a number"), ("0x10", "must be a number"),
    ("__import__('os')", "must be a number"), ("1" * 101, "100 significant digits"),
])
def test_parse_number_refuses_with_one_line(text, word):
    with pytest.raises(TheoryInputError) as info:
        parse_number(text, "--label")
    assert word in str(info.value) and "--label" in str(info.value) and len(str(info.value).splitlines()) == 1


def test_exact_value_keeps_non_strings_working():
    assert exact_value(sp.Rational(1, 3)) == sp.Rational(1, 3)
    assert exact_value(2) == 2 and exact_value(0.5) == sp.Rational(1, 2)
    assert exact_value(1e-300) == sp.Rational(1, 10**300)  # nsimplify alone gives 0 here
    assert exact_value(0.1, floats="binary") == sp.Rational(3602879701896397, 2**55)
    for bad in (True, float("nan"), float("inf"), "f", "1/0", "sqrt(-1)", [1]):
        with pytest.raises(TheoryInputError):
            exact_value(bad, "value")


def test_string_values_through_the_api_are_exact():
    assert mse(label="1/3").expr == (f - sp.Rational(1, 3)) ** 2 / 2
    assert mse("y").subs({"y": "3/2"}).expr == (f - sp.Rational(3, 2)) ** 2 / 2
    assert logistic("1/2").expr == (sp.log(1 + sp.exp(-f)) + sp.log(1 + sp.exp(f))) / 2
    slope = numeric_loss(mse("y"), y="1/4").bind(None)[1]
    assert slope(1.0) == 0.75


# --- one function set for derive and for the numeric backends ------------------------------------------------

_INSIDE = {"acosh": f**2 + 2, "asin": f / (f**2 + 4), "acos": f / (f**2 + 4), "atanh": f / (f**2 + 4),
           "log": f**2 + 1, "sqrt": f**2 + 1, "coth": f**2 + 1, "csch": f**2 + 1, "csc": f**2 + 1, "cot": f**2 + 1}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_whitelisted_function_is_evaluated_by_every_backend(name):
    pytest.importorskip("flint")
    import mpmath

    from catapult.numerics.backends import get_backend
    loss = Loss.parse(f"{name}({_INSIDE.get(name, f)}) + f**2")
    x = sp.Rational(3, 10)
    want = [sp.N(e.subs(f, x), 30) for e in (loss.expr, loss.d1)]   # SymPy's own evaluation: the oracle
    nl = numeric_loss(loss)
    got = {"float64": [float(c(0.3)) for c in nl.bind(None)]}
    for b in ("mpmath", "arb"):
        B = get_backend(b, 30)
        with B.context():
            got[b] = [float(B.to_mpf(c(B.scalar(mpmath.mpf("0.3"))))) for c in nl.bind(B)]
    for b, vals in got.items():
        for v, w in zip(vals, want):
            assert abs(v - float(w)) <= 1e-12 * max(1, abs(float(w))), (name, b, vals, want)


# --- round trip: SymPy's printing parses back to the same expression -----------------------------------------

_LEAVES = st.one_of(st.sampled_from([f, y, sp.pi, sp.E]),
                    st.fractions(-20, 20, max_denominator=12).map(lambda q: sp.Rational(q.numerator, q.denominator)))


def _grow(children):
    fn = st.sampled_from(sorted(k for k in FUNCTIONS if k != "sqrt"))
    return st.one_of(
        st.tuples(children, children).map(lambda t: t[0] + t[1]),
        st.tuples(children, children).map(lambda t: t[0] * t[1]),
        st.tuples(children, st.integers(-4, 6)).map(lambda t: t[0] ** t[1]),
        st.tuples(children, st.sampled_from([sp.Rational(1, 2), sp.Rational(-1, 3), sp.Rational(5, 2)]))
        .map(lambda t: (1 + t[0] ** 2) ** t[1]),
        st.tuples(fn, children).map(lambda t: FUNCTIONS[t[0]](t[1])),
    )


_EXPRS = st.recursive(_LEAVES, _grow, max_leaves=10)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_EXPRS)
@example(sp.log(1 + sp.exp(-f)) * sp.Rational(7, 10) + sp.Rational(3, 10) * sp.log(1 + sp.exp(f)))
@example(sp.sqrt(2) * sp.erf(f - y) / 2)
@example((f - sp.Rational(1, 3)) ** 2 / 2 + sp.exp(-f) ** 3)
@example(sp.atanh(f / (1 + f**2)) + sp.pi ** sp.Rational(1, 2))
@example(2 ** sp.Rational(1, 3) * f**-4 - sp.E)
def test_printed_expressions_parse_back_to_themselves(expr):
    assume(not expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I, sp.AccumBounds))
    pows = [a.as_base_exp() for a in expr.atoms(sp.Pow)]
    assume(not any(b.is_number and b.is_negative and not e.is_integer for b, e in pows))  # complex: refused
    # within the documented caps (restated here): numbers of <= 600 digits, exponents <= 1000 on a symbol
    # or a rational, <= 64 on anything else
    assume(all(len(str(abs(r.p))) <= 600 and len(str(r.q)) <= 600 for r in expr.atoms(sp.Rational)))
    assume(all(abs(e) <= (1000 if (b.is_Symbol or b.is_Rational) else 64) for b, e in pows if e.is_Rational))
    text = str(expr)
    assume(len(text) <= MAX_LENGTH)
    assert parse_expression(text, {"f": f, "y": y}) == expr
