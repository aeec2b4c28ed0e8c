"""Part 1.1 bonus: the DDP training script runs with torchrun on 2 CPU processes (gloo) and the replicas agree."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
MODULE = "course.chapter1_transformers.part1_transformer_from_scratch.ddp_train"


@pytest.mark.slow
def test_ddp_two_cpu_processes_agree(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", MODULE,
           "--steps", "4", "--stories", "150", "--batch-size", "4", "--out", str(tmp_path)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert all(r["steps"] == 4 and len(r["losses"]) == 4 for r in ranks)
    assert all(math.isfinite(x) for r in ranks for x in r["losses"])
    assert ranks[0]["digest"] == ranks[1]["digest"] and all(r["replicas_agree"] for r in ranks)
    # each process trained on its own shard of the data: the losses they saw differ
    assert ranks[0]["losses"] != ranks[1]["losses"]
    assert "replicas agree: True" in done.stdout
