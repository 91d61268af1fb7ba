"""Notebook display of derived objects: maps and thresholds typeset (``_repr_latex_``, ``sympy.latex``), large
maps with their common subexpressions named."""

import re

import pytest
import sympy as sp

from catapult.theory import derive, thresholds
from catapult.theory.symbols import LATEX_NAMES


@pytest.mark.parametrize("mp", [derive("uv", "mse"), derive("deep", depth=3), derive("samples", m=2, d=2)],
                         ids=["uv", "deep3", "samples"])
def test_every_map_typesets_through_sympy_and_the_notebook(mp):
    assert sp.latex(mp) == mp.latex()                      # not \mathtt{\text{FunctionSpaceMap(...)}}
    shown = mp._repr_latex_()
    assert shown.startswith("$$\\begin{aligned}") and shown.endswith("\\end{aligned}$$")
    rows = [r for r in mp.latex().splitlines()[1:-1]]
    primed = [r.split(" &= ")[0] for r in rows if "' &= " in r]
    assert len(primed) == len(mp.state)                    # one row per state coordinate, in state order
    assert primed == [sp.latex(mp.symbols[k], symbol_names=LATEX_NAMES) + "'" for k in mp.update]


def test_a_large_map_names_its_common_subexpressions_and_defines_each_before_use():
    dm = derive("deep", depth=4)
    raw, short = dm.latex(cse=False), dm.latex()
    assert len(raw) > 15000 and len(short) < len(raw) / 4   # 16 KB raw
    defined = set()
    for row in short.splitlines()[1:-1]:
        lhs, rhs = row.split(" &= ")
        used = set(re.findall(r"\\xi_\{(\d+)\}", rhs))
        assert used <= defined, row                           # every name is defined on an earlier row
        m = re.fullmatch(r"\\xi_\{(\d+)\}", lhs)
        if m:
            defined.add(m.group(1))
    assert defined and "'" not in short.splitlines()[1]


def test_the_subexpressions_substituted_back_give_the_map():
    """The named rows are exactly the map: sympy.cse's replacements substituted back equal the update."""
    dm = derive("deep", depth=3)
    exprs = list(dm.update.values())
    reps, reduced = sp.cse(exprs, symbols=(sp.Symbol(f"xi_{k}") for k in range(10 ** 6)), optimizations=None)
    for x, v in reversed(reps):
        reduced = [e.subs(x, v) for e in reduced]
    assert all(sp.simplify(a - b) == 0 for a, b in zip(reduced, exprs))
    assert len(dm.latex(cse=True).splitlines()) == len(reps) + len(exprs) + 2


def test_thresholds_display_one_row_each_with_exactness_or_not_derived():
    t = thresholds("deep", depth=3)
    shown = t._repr_latex_()
    rows = shown.splitlines()[1:-1]
    assert len(rows) == len(t.all)
    for row, th in zip(rows, t.all.values()):
        if th.value is None:
            assert "\\text{not derived}" in row
        else:
            assert f"\\text{{({th.exactness})}}" in row
    assert thresholds("uv", "mse").eta_max._repr_latex_() == "$\\eta_{max} = \\frac{4}{\\lambda_0} \\quad " \
                                                            "\\text{(leading order in 1/n)}$"


def test_run_reports_display_as_an_html_table_of_their_json():
    from html.parser import HTMLParser

    from catapult.verify.runs import run
    r = run("uv", width=32, eta_lam0=3, steps=300, dps=20)

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.th, self.tag = [], None

        def handle_starttag(self, tag, attrs):
            self.tag = tag

        def handle_data(self, data):
            if self.tag == "th":
                self.th.append(data)

    p = Cells()
    p.feed(r._repr_html_())
    assert p.th == list(r.to_json()) and r.phase == "catapult"
    assert "measured: parameter GD, n=32" in r._repr_html_()
