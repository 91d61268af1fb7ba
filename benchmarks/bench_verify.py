"""Wall time of ``catapult verify`` (target: <= 60 s on 2 cores), median of a few runs.

Prints the median wall time and the ratio to the 60 s target; nothing is asserted.
Usage: python benchmarks/bench_verify.py [repeats]
"""

import statistics
import subprocess
import sys
import time

TARGET = 60.0


def main(repeats=1):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        rc = subprocess.run(["catapult", "verify"], capture_output=True, text=True).returncode
        times.append(time.perf_counter() - t0)
        print(f"run: {times[-1]:.1f} s (exit {rc})")
    med = statistics.median(times)
    print(f"catapult verify: median {med:.1f} s over {repeats} run(s); ratio to the {TARGET:.0f} s target: {med / TARGET:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
