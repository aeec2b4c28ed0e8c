"""Helpers for tests that play the learner: run `arena` as a subprocess, write learner files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from arena.catalog import get_part

PART = "0.1"
FIRST = "make_rays_1d"


def run_arena(*args: str, cwd: Path, env_extra: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    env.setdefault("ARENA_TIME_LIMIT", "4")
    env.setdefault("ARENA_IMPORT_TIMEOUT", "240")  # a cold import of torch on a busy CI machine
    return subprocess.run([sys.executable, "-m", "arena.cli", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def json_results(proc: subprocess.CompletedProcess) -> dict[str, dict]:
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return {row["exercise"]: row for row in rows}


def solutions_text(part_id: str = PART) -> str:
    return get_part(part_id).solutions_path.read_text()


def learner_file(path: Path, override: str = "", prefix: str = "", part_id: str = PART) -> Path:
    """A learner file: the reference solutions with `prefix` near the top (after any __future__ import)
    and `override` appended (redefining an exercise)."""
    text = solutions_text(part_id)
    future = "from __future__ import annotations\n"
    head, _, tail = text.partition(future) if future in text else ("", "", text)
    path.write_text(head + (future if _ else "") + prefix + tail + "\n\n" + override + "\n")
    return path
