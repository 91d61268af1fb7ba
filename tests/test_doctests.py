"""Every docstring example of every module of the installed ``catapult`` package runs (one test per docstring).

The packages live in the user's top-level folders (theory/, numerics/, verify/) and are installed as
``catapult.*``; collecting their doctests here imports each module once, under its installed name.
"""

import doctest
import importlib
import pkgutil

import pytest


def _all_modules():
    names = ["catapult"]
    for sub in ("theory", "numerics", "verify"):
        pkg = importlib.import_module(f"catapult.{sub}")
        names.append(pkg.__name__)
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
    return names


def _doctests():
    finder = doctest.DocTestFinder()
    out = []
    for name in _all_modules():
        for t in finder.find(importlib.import_module(name), name):
            if t.examples:
                out.append(pytest.param(t, id=t.name))
    return out


@pytest.mark.parametrize("test", _doctests())
def test_docstring_examples(test):
    report = []
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    if runner.run(test, out=report.append).failed:
        pytest.fail("".join(report), pytrace=False)
