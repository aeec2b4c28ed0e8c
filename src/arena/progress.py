"""The learner's check results, in SQLite (safe with several `arena check` runs at once)."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

from arena.checker import Result

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    part TEXT NOT NULL,
    exercise TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    seconds REAL NOT NULL,
    source TEXT NOT NULL,
    checked_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_exercise ON attempts (part, exercise, id);
"""


def data_dir() -> Path:
    """Where progress lives: $ARENA_HOME if set, else the platform's user data directory."""
    return Path(os.environ.get("ARENA_HOME") or user_data_dir("arena-course", appauthor=False))


def db_path() -> Path:
    return data_dir() / "progress.sqlite3"


def _connect() -> sqlite3.Connection:
    path = db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.executescript(_SCHEMA)
    return conn


def record_results(part_id: str, results: Iterable[Result], source: str = "cli") -> None:
    """Append results atomically (one transaction)."""
    now = time.time()
    rows = [(part_id, r.exercise, r.status, r.message, r.seconds, source, now) for r in results]
    with closing(_connect()) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO attempts (part, exercise, status, message, seconds, source, checked_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")


@dataclass(frozen=True)
class Status:
    exercise: str
    status: str
    message: str
    checked_at: float
    ever_passed: bool


def latest(part_id: str) -> dict[str, Status]:
    """The latest result of each exercise of a part that was ever checked."""
    if not db_path().exists():
        return {}
    with closing(_connect()) as conn:
        rows = conn.execute(
            """SELECT a.exercise, a.status, a.message, a.checked_at,
                      EXISTS(SELECT 1 FROM attempts b WHERE b.part = a.part AND b.exercise = a.exercise
                             AND b.status = 'passed')
               FROM attempts a
               WHERE a.part = ? AND a.id = (SELECT MAX(id) FROM attempts c
                                           WHERE c.part = a.part AND c.exercise = a.exercise)""",
            (part_id,),
        ).fetchall()
    return {r[0]: Status(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows}



def passed_count(part_id: str, names: list[str]) -> int:
    """How many of these exercises' latest result is a pass."""
    states = latest(part_id)
    return sum(1 for n in names if n in states and states[n].status == "passed")


def forget(part_id: str) -> int:
    """Delete every stored result of one part; returns how many were deleted."""
    if not db_path().exists():
        return 0
    with closing(_connect()) as conn:
        conn.execute("BEGIN IMMEDIATE")
        deleted = conn.execute("DELETE FROM attempts WHERE part = ?", (part_id,)).rowcount
        conn.execute("COMMIT")
    return int(deleted)
