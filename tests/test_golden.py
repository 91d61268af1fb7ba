"""The CLI contract (golden JSON files in tests/golden/) holds field by field across refactors.

Derived fields (strings, exact values, booleans, keys) must be identical.  Numbers, bare or inside prose, are
compared to a stated relative tolerance: 1e-5 for numeric fields (some are float64 measurements, e.g. a
bisection bracket next to the knife edge eta*lam0 = 4, whose last steps may round differently on another CPU) and
2e-2 for numbers inside a verify row's ``measured`` prose (float64 rows there too) and for the same numbers in its
``measured_value`` and ``rel_error`` fields (and their ``null_reasons``); other strings exactly.  Wall-clock fields
are skipped.  An intended contract change regenerates the file (``python tests/golden/cases.py NAME``) and says so
in its commit message.
"""

import json
import math
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "golden"))
from cases import CASES, VOLATILE, path, run_case  # noqa: E402

#: a verify row's measured numbers (beside its ``measured`` prose), and the reasons of their nulls (which quote that
#: prose), get the prose's tolerance
MEASURED_NUMBERS = {"measured_value", "rel_error"}
MEASURED_RTOL = 2e-2

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _volatile(key):
    return key in VOLATILE or key.endswith("seconds")


#: numbers this small are GD's stop residuals (e.g. f* and l'(f*) where a float64 warm-up stopped, ~5e-13):
#: their digits are float64 rounding, which differs between CPUs (SIMD reductions), so they are compared
#: absolutely; every O(1) number is still held to ``rtol``
RESIDUAL_ATOL = 1e-10


def _close(a, b, rtol):
    return a == b or (math.isfinite(a) and math.isfinite(b)
                      and abs(a - b) <= rtol * max(abs(a), abs(b)) + RESIDUAL_ATOL)


def _compare_text(a, b, rtol, where):
    if rtol == 0 or a == b:
        assert a == b, where
        return
    assert NUMBER.sub("#", a) == NUMBER.sub("#", b), f"{where}: {a!r} != {b!r}"
    for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)):
        assert _close(float(x), float(y), rtol), f"{where}: {a!r} != {b!r}"


#: which rungs of the precision ladder agreed on a bisected threshold ("float64+fixed50", or "fixed50+arb100" when
#: float64 could not resolve it within rtol) depends on float64 rounding next to the threshold -- the linear
#: stability threshold, where the convergence rate vanishes, goes either way from one CPU or numpy release to the
#: next -- so a label's "agreeing: PAIRS" and a backend's "/arb" escalation are compared as "some valid pairs of
#: rungs" and "the same first engine"; the threshold itself is still held to the numbers' tolerance
LADDER_PAIRS = re.compile(r"agreeing: (?:float64\+fixed(\d+)|fixed(\d+)\+arb(\d+));")
ESCALATED = re.compile(r"^(float64\+fixed)(?:/arb)?$")


def _ladder(text, key):
    """The label's "agreeing: float64+fixedN;" or "agreeing: fixedN+arbM;" as "agreeing: <fixedN rung>;" (the same
    N: the swap of one rung, nothing else); a backend's "float64+fixed" or "float64+fixed/arb" as one."""
    if key == "backend":
        return ESCALATED.sub(r"\1[/arb]", text)
    if key != "label":
        return text
    return LADDER_PAIRS.sub(lambda m: f"agreeing: <fixed{m.group(1) or m.group(2)} rung>;", text)


def compare(got, want, where="", rtol=1e-5, text_rtol=0.0):
    """Field-by-field comparison with the tolerances of the module docstring."""
    key = where.rsplit(".", 1)[-1]
    if key in ("label", "backend") and isinstance(got, str) and isinstance(want, str):
        got, want = _ladder(got, key), _ladder(want, key)
    if isinstance(want, dict):
        assert isinstance(got, dict), where
        assert sorted(k for k in got if not _volatile(k)) == sorted(k for k in want if not _volatile(k)), \
            f"{where}: keys differ"
        for k in want:
            if not _volatile(k):
                compare(got[k], want[k], f"{where}.{k}", MEASURED_RTOL if k in MEASURED_NUMBERS else rtol,
                        MEASURED_RTOL if k == "measured" or k in MEASURED_NUMBERS else text_rtol)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: lengths differ"
        for i, (g, w) in enumerate(zip(got, want)):
            compare(g, w, f"{where}[{i}]", rtol, text_rtol)
    elif isinstance(want, bool) or want is None:
        assert got is want, f"{where}: {got!r} != {want!r}"
    elif isinstance(want, (int, float)):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), where
        assert _close(float(got), float(want), rtol), f"{where}: {got!r} != {want!r}"
    else:
        assert isinstance(got, str), where
        _compare_text(got, want, text_rtol, where)


def test_compare_catches_a_changed_value_and_a_renamed_key():
    """The comparison is not vacuous."""
    compare({"a": 1.0, "s": "4/lam0"}, {"a": 1.0 + 1e-9, "s": "4/lam0"})
    with pytest.raises(AssertionError):
        compare({"a": 1.001}, {"a": 1.0})
    with pytest.raises(AssertionError):
        compare({"b": 1.0}, {"a": 1.0})
    with pytest.raises(AssertionError):
        compare({"s": "2/lam0"}, {"s": "4/lam0"})
    compare({"label": "agreeing: float64+fixed50; n=8", "backend": "float64+fixed"},
            {"label": "agreeing: fixed50+arb100; n=8", "backend": "float64+fixed/arb"})
    for key, other, want in (("label", "agreeing: float64+fixed50; n=9", "agreeing: fixed50+arb100; n=8"),
                             ("label", "agreeing: float64+fixed30; n=8", "agreeing: fixed50+arb100; n=8"),
                             ("label", "agreeing: float64+fixed30; n=8", "agreeing: float64+fixed50; n=8"),
                             ("label", "exact", "agreeing: fixed50+arb100; n=8"),
                             ("backend", "float64+arb", "float64+fixed/arb")):
        with pytest.raises(AssertionError):
            compare({key: other}, {key: want})
    compare({"measured": "58.9 digits"}, {"measured": "59.0 digits"})
    with pytest.raises(AssertionError):
        compare({"measured": "40.0 digits"}, {"measured": "59.0 digits"})


@pytest.mark.parametrize("name", [c for c in CASES if c != "verify"])
def test_cli_json_matches_golden(name):
    with open(path(name)) as fh:
        want = json.load(fh)
    compare(run_case(name), want, name)


@pytest.mark.slow
def test_verify_rows_match_golden():
    with open(path("verify")) as fh:
        want = json.load(fh)
    compare(run_case("verify"), want, "verify")
