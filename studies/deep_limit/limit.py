"""Study: the band [x_lo, x_hi] of eta*lam0 in which the verdict of the isometric deep linear map
(squared loss) keeps depending on the width as n -> infinity, for depths L = 3..8, and how far its
ends move with the coarse grid the search starts from.

Run (from the repository root, with the package installed)::

    python studies/deep_limit/limit.py 3 4 5 6 7 8 --restarts 6 --levels 8    # the table of the band
    python studies/deep_limit/limit.py 3 4 5 --random 24                       # x_lo from 24 random grids
    python studies/deep_limit/limit.py 3 4 5 --random 24 --which hi            # x_hi from 24 random grids

The measured tables are ``studies/deep_limit/results.md``.  The library (limit map, phase picture,
:func:`catapult.verify.deep_limit.band_limit`, :func:`catapult.verify.deep_limit.band_ends`) is
:mod:`catapult.verify.deep_limit`; this script adds :func:`random_restarts` and the table printer.

What the results say (``results.md``): the ends are witnessed bounds (an orbit with that verdict at float64,
30 and 60 digits: x_lo <= witness, x_hi >= witness).  Restarts land on different thin slivers of the divergent set,
so the inf / sup is known only to the spread of the restarts: best x_lo witnesses 5.1508555028, 6.0211088223,
6.7645574625, 7.3919232235, 7.9493730698, 8.4657538522 for L = 3..8 (8 digits for L = 3, fewer above); x_hi to 4-5
digits for L = 3, 3 for L = 4, 5, and for L = 6..8 convergent phases reach far above 4L.  The docstring examples
run with ``python -m pytest -q studies/deep_limit``.
"""

from __future__ import annotations

import sys

from catapult.verify.deep_limit import band_ends, band_limit


def random_restarts(L: int, restarts: int = 24, levels: int = 10, seed=None, which: str = "lo"):
    """:func:`band_limit` from ``restarts`` random coarse grids (nx in [150, 400], npsi in [40, 160],
    K in {36, ..., 44}, x from 2.05 + U(0, 0.05) to 8L; ``seed`` defaults to L); returns the list of
    Limits (failed restarts skipped), sorted by x (ascending for 'lo', descending for 'hi').

    >>> [round(r.x, 9) for r in random_restarts(2, restarts=1, levels=1)]
    [4.0]
    """
    import random
    rng = random.Random(L if seed is None else seed)
    out = []
    for _ in range(restarts):
        nx, npsi, K = rng.randint(150, 400), rng.randint(40, 160), rng.choice([36, 38, 40, 42, 44])
        try:
            out.append(band_limit(L, which, (2.05 + 0.05 * rng.random(), 8.0 * L), nx, npsi, levels, K=K,
                                  confirm=(30,)))
        except RuntimeError:
            continue
    return sorted(out, key=lambda r: r.x, reverse=(which == "hi"))


def _main(argv):
    """``python studies/deep_limit/limit.py L [L ...] [--restarts R] [--levels K]``: markdown rows of the band."""
    import argparse
    ap = argparse.ArgumentParser(prog="python studies/deep_limit/limit.py",
                                 description="the n -> oo band [x_lo, x_hi] of the depth-L limit map")
    ap.add_argument("depths", nargs="+", type=int)
    ap.add_argument("--restarts", type=int, default=6)
    ap.add_argument("--levels", type=int, default=8)
    ap.add_argument("--random", type=int, default=0, metavar="R",
                    help="instead: x_lo (or x_hi, --which hi) from R random coarse grids (levels 10), one line per L")
    ap.add_argument("--which", choices=("lo", "hi"), default="lo", help="the end --random looks for")
    a = ap.parse_args(argv)
    if a.random:
        for L in a.depths:
            rs = random_restarts(L, a.random, which=a.which)
            print(f"L={L}: best x_{a.which} {'<=' if a.which == 'lo' else '>='} {rs[0].x:.12f} "
                  f"({'+'.join(rs[0].precisions)}); {'lowest' if a.which == 'lo' else 'highest'} 8: "
                  + ", ".join(f"{r.x:.10f}" for r in rs[:8]), flush=True)
        return
    print("| L | x_lo <= (witness) | precisions | psi | restarts: lo values | x_hi >= (witness) | precisions | "
          "restarts: hi values | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for L in a.depths:
        b = band_ends(L, restarts=a.restarts, levels=a.levels)
        lo = b.lo
        hi = b.hi
        print(f"| {L} | {lo.x:.12f} | {'+'.join(lo.precisions)} | {lo.witness[1]:.9f} | "
              f"{', '.join(f'{v:.9f}' for v in sorted(b.lo_all))} | "
              + (f"{hi.x:.12f} | {'+'.join(hi.precisions)} | {', '.join(f'{v:.6f}' for v in sorted(b.hi_all))}"
                 if hi else f"open (convergent phases up to {b.x_max}) | | ")
              + f" | {b.seconds:.0f} |", flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
