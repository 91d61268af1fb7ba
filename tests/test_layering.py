"""Who may import whom (AST of every source file; imports inside functions count too).

* numerics/ never imports theory/ or verify/ (the oracle must be able to refute the derivation);
* theory/ never imports numerics/ or verify/;
* the CLI imports no catalogue section (``checks*``) and no study;
* nothing imports studies/ (research scripts live outside the installed package).
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = {"theory": "catapult.theory", "numerics": "catapult.numerics", "verify": "catapult.verify",
            "catapult": "catapult"}


def _module_name(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] == "__init__":
        rel = rel[:-1]
    top = PACKAGES.get(rel[0], rel[0])
    return ".".join([top] + rel[1:])


def _sources(*tops):
    for top in tops:
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for fn in files:
                if fn.endswith(".py"):
                    yield os.path.join(dirpath, fn)


def imports(path):
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    name = _module_name(path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    with open(path) as fh:
        tree = ast.parse(fh.read(), path)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _violations(tops, forbidden, where=lambda p: True):
    bad = []
    for p in _sources(*tops):
        if not where(p):
            continue
        for m in imports(p):
            if any(m == f or m.startswith(f + ".") for f in forbidden):
                bad.append((os.path.relpath(p, ROOT), m))
    return sorted(bad)


def test_imports_are_resolved_on_a_known_case():
    """The checker sees a relative import of theory from verify (not vacuous)."""
    assert "catapult.theory.errors" in imports(os.path.join(ROOT, "verify", "cli.py"))
    assert "catapult.theory.gram" in imports(os.path.join(ROOT, "theory", "models.py"))


def test_numerics_never_imports_theory_or_verify():
    assert _violations(["numerics"], ["catapult.theory", "catapult.verify", "theory", "verify"]) == []


def test_theory_never_imports_numerics_or_verify():
    assert _violations(["theory"], ["catapult.numerics", "catapult.verify", "numerics", "verify"]) == []


def _is_cli(p):
    rel = os.path.relpath(p, ROOT).split(os.sep)
    return rel[:2] == ["verify", "cli.py"] or rel[:2] == ["verify", "cli"]


SECTIONS = {f"catapult.verify.catalogue.{fn[:-3]}" for fn in os.listdir(os.path.join(ROOT, "verify", "catalogue"))
            if fn.endswith(".py") and fn != "__init__.py"}


def test_the_cli_imports_no_catalogue_section_and_no_study():
    """The CLI reads the catalogue through its package (KEYS, catalogue(), model_file_rows()), never a section."""
    assert "catapult.verify.catalogue.uv" in SECTIONS
    bad = _violations(["verify"], sorted(SECTIONS) + ["studies"], _is_cli)
    assert bad == []


@pytest.mark.parametrize("top", ["theory", "numerics", "verify", "catapult", "tests", "benchmarks"])
def test_nothing_imports_studies(top):
    assert _violations([top], ["studies"]) == []
