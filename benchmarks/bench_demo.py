"""Benchmark: wall time of ``spillmap demo`` in a fresh process, run by hand.

    python benchmarks/bench_demo.py [--repeat 3]

Runs ``spillmap demo --out <temp>`` (the whole study on the shipped layer:
DID chain with 500 placebo draws, heterogeneity, mediation with 500
bootstrap draws, moderation, SDM-DID, 12-band sweep with 1,000 effect draws,
layers, maps, report) in a new Python process each time, so imports count,
and prints the median and range. The README's demo time comes from here.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    times = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "spillmap.cli", "demo", "--out", out], check=True,
                           capture_output=True)
            times.append(time.perf_counter() - start)
    print(f"spillmap demo, fresh process: median {statistics.median(times):.1f} s "
          f"(range {min(times):.1f}–{max(times):.1f} s, {args.repeat} runs)")


if __name__ == "__main__":
    main()
