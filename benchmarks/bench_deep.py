"""Deep linear networks: time to derive the reduced map per depth (target L = 8 <= 2 s) and time to locate the
divergence threshold at one width from the reduced map (target <= 5 s), medians of a few runs.

Prints times and ratios to the targets (machines are noisy; nothing is asserted).
Usage: python benchmarks/bench_deep.py
"""

import statistics
import time

from catapult.theory.deep import derive_deep_map


def median_time(fn, repeats=3):
    from sympy.core.cache import clear_cache
    times = []
    for _ in range(repeats):
        clear_cache()  # SymPy's cache would make repeats look free
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    for L in range(2, 9):
        t = median_time(lambda: derive_deep_map(L))
        print(f"derive reduced map  L={L}: median {t:.3f} s" + (f"   ratio to 2 s target: {t / 2:.2f}" if L == 8 else ""))
    try:
        from catapult.verify.deep_band import threshold
    except ImportError:
        print("catapult.verify.deep_band not available: threshold timing skipped")
        return
    for L, n in ((3, 10**4), (4, 10**4)):
        t = median_time(lambda: threshold(L, n), repeats=1)
        print(f"threshold from the reduced map L={L}, n={n}: {t:.2f} s   ratio to 5 s target: {t / 5:.2f}")


if __name__ == "__main__":
    main()
