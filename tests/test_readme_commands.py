"""Every ``catapult`` command the README shows is accepted: it parses, names a model, and passes the up-front
checks that refuse predictably huge work (the cost limit refused two README examples that run in ~10 s:
``scan uv --loss logistic --p 0.7 ... --widths 100 316 1000`` and ``scan deep --depth 3 --width 64``).  The
commands are not run here (together they take minutes); their checks are what refused them."""

import shlex
from pathlib import Path

import pytest

from catapult.verify import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands():
    """The ``catapult ...`` lines of the README's shell blocks (comments dropped; `[...]` synopsis lines too)."""
    cmds, block = [], None
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            block = (line.strip() in ("```", "```sh", "```bash")) if block is None else None
            continue
        if block and line.startswith("catapult ") and "[" not in line.split("#")[0]:
            cmds.append(shlex.split(line, comments=True)[1:])
    return cmds


def test_the_readme_shows_commands_of_every_kind():
    kinds = {c[0] for c in readme_commands()}
    assert {"derive", "thresholds", "run", "scan", "plot", "verify"} <= kinds, kinds


@pytest.mark.parametrize("argv", readme_commands(), ids=" ".join)
def test_a_readme_command_passes_its_up_front_checks(argv, monkeypatch):
    monkeypatch.chdir(README.parent)   # the model files are named relative to the checkout
    args = cli.build_parser().parse_args(argv)
    cli._resolve_model(args)
    if args.cmd == "scan" and args.certified:
        cli._check_certified_scan_args(args)   # what cmd_scan checks before a certified scan
        return
    if args.cmd == "scan":
        cli._check_scan_args(args)
    if args.cmd in ("run", "scan") and getattr(args, "data", None) is None:
        cli._numeric_problem(args, args.width, args.seed)   # builds the problem and refuses its cost (or raises)
