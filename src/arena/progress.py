"""The learner's check results, in SQLite (safe with several `arena check` runs at once).

The store is a convenience, never a gate: any failure to open, read or write it (a damaged file, a
lock held past the timeout, a read-only directory, a full disk) becomes one warning line on stderr
naming the file and what was done, and the caller carries on. A damaged file is moved aside (kept,
under a timestamped name) and a fresh store is started."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from platformdirs import user_data_dir

from arena.checker import Result

T = TypeVar("T")
LOCK_TIMEOUT_S = 10.0

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


def _print_warning(message: str) -> None:
    print(f"Warning: {message}", file=sys.stderr, flush=True)


# Where warnings go (one line each); the CLI and tests may replace it.
warn: Callable[[str], None] = _print_warning
_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warn(message)


def _connect() -> sqlite3.Connection:
    path = db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=LOCK_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


def _is_damage(err: BaseException) -> bool:
    """A file that is not (or no longer) a SQLite database, as opposed to a lock, permission or full disk."""
    if isinstance(err, sqlite3.DatabaseError) and not isinstance(err, sqlite3.OperationalError):
        return True
    return isinstance(err, sqlite3.OperationalError) and "malformed" in str(err)


def _move_aside(path: Path) -> Path:
    """Rename a damaged store (and its WAL files) to a timestamped name; never deletes anything."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 2
    while target.exists():
        target, n = path.with_name(f"{path.name}.damaged-{stamp}-{n}"), n + 1
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.rename(target.with_name(target.name + suffix))
    return target


def _reason(err: BaseException) -> str:
    if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
        return f"it stayed locked by another arena process for more than {LOCK_TIMEOUT_S:g} s"
    if isinstance(err, OSError):
        return err.strerror or str(err)
    return str(err) or type(err).__name__


def _safely(action: str, operation: Callable[[sqlite3.Connection], T], fallback: T) -> T:
    """Run `operation` on the store; on any failure warn once and return `fallback` (after moving a
    damaged store aside and retrying once on a fresh one)."""
    path = db_path()
    for attempt in (1, 2):
        try:
            with closing(_connect()) as conn:
                return operation(conn)
        except (sqlite3.Error, OSError) as err:
            if attempt == 1 and _is_damage(err) and path.exists():
                try:
                    moved = _move_aside(path)
                except OSError as move_err:
                    _warn_once(f"the progress store {path} is damaged ({err}) and could not be moved aside "
                               f"({_reason(move_err)}); {action} was skipped, your checks ran as usual.")
                    return fallback
                _warn_once(f"the progress store {path} was damaged ({err}); it was kept as {moved} "
                           "and a fresh store was started.")
                continue
            _warn_once(f"could not use the progress store {path} ({_reason(err)}); {action} was skipped, "
                       "your checks ran as usual.")
            return fallback
    return fallback


def record_results(part_id: str, results: Iterable[Result], source: str = "cli") -> bool:
    """Append results atomically (one transaction); False (after a warning) when they could not be saved."""
    now = time.time()
    rows = [(part_id, r.exercise, r.status, r.message, r.seconds, source, now) for r in results]

    def insert(conn: sqlite3.Connection) -> bool:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT INTO attempts (part, exercise, status, message, seconds, source, checked_at) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return True

    return _safely("saving these results", insert, False)


@dataclass(frozen=True)
class Status:
    exercise: str
    status: str
    message: str
    checked_at: float
    ever_passed: bool


def latest(part_id: str) -> dict[str, Status]:
    """The latest result of each exercise of a part that was ever checked ({} if the store is unusable)."""
    if not db_path().exists():
        return {}

    def query(conn: sqlite3.Connection) -> dict[str, Status]:
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

    return _safely("reading your progress", query, {})


def passed_count(part_id: str, names: list[str]) -> int:
    """How many of these exercises' latest result is a pass."""
    states = latest(part_id)
    return sum(1 for n in names if n in states and states[n].status == "passed")


def forget(part_id: str) -> int:
    """Delete every stored result of one part; returns how many were deleted."""
    if not db_path().exists():
        return 0

    def delete(conn: sqlite3.Connection) -> int:
        conn.execute("BEGIN IMMEDIATE")
        deleted = conn.execute("DELETE FROM attempts WHERE part = ?", (part_id,)).rowcount
        conn.execute("COMMIT")
        return int(deleted)

    return _safely("forgetting results", delete, 0)


# ---------------------------------------------------------------- small settings: workspaces, hints seen

def _state_path() -> Path:
    return data_dir() / "state.json"


def _read_state() -> dict:
    path = _state_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except (OSError, ValueError) as err:
        _warn_once(f"could not read {path} ({_reason(err) if isinstance(err, OSError) else 'not valid JSON'}); "
                   "using defaults.")
        return {}
    return data if isinstance(data, dict) else {}


def _update_state(section: str, key: str, value: object) -> None:
    path = _state_path()
    state = _read_state()
    state.setdefault(section, {})[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        tmp.replace(path)  # atomic: a crash never leaves half a file
    except OSError as err:
        _warn_once(f"could not save {path} ({_reason(err)}); nothing else is affected.")


def remember_workspace(part_id: str, file: Path) -> None:
    """Note where `arena start` wrote a part's exercise file, so commands find it from any folder."""
    _update_state("workspaces", part_id, str(file.resolve()))


def known_workspace(part_id: str) -> Path | None:
    value = _read_state().get("workspaces", {}).get(part_id)
    return Path(value) if isinstance(value, str) else None


def hints_seen(part_id: str, name: str) -> int:
    value = _read_state().get("hints", {}).get(f"{part_id}/{name}", 0)
    return value if isinstance(value, int) else 0


def set_hints_seen(part_id: str, name: str, count: int) -> None:
    _update_state("hints", f"{part_id}/{name}", count)
