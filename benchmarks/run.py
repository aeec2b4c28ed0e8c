"""Every part's benchmarks in one run: from-scratch implementation vs the library it imitates.

Usage: python benchmarks/run.py [PART_ID ...]   (the same tables as `arena bench PART_ID`)
       python benchmarks/run.py --latency [ARGS]  (CLI latency against `import torch`: benchmarks/latency.py)"""

from __future__ import annotations

import sys
from pathlib import Path

from arena.bench import run_benchmarks
from arena.catalog import all_parts


def main(wanted: list[str]) -> int:
    if wanted[:1] == ["--latency"]:
        sys.path.insert(0, str(Path(__file__).parent))
        from latency import main as latency_main

        return latency_main(wanted[1:])
    for part in all_parts():
        module = part.module("bench")
        if module is None or (wanted and part.id not in wanted):
            continue
        print(f"\n{part.id} {part.title}")
        print(f"{'benchmark':48} {'ours ms':>10} {'library ms':>11} {'ratio':>7}")
        for t in run_benchmarks(module.BENCHMARKS):
            print(f"{t.name:48} {t.ours_ms:10.2f} {t.library_ms:11.2f} {t.ratio:6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
