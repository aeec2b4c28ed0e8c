"""Runs a part's checks against a learner's file or object and turns every outcome into a Result.

A file is checked in a separate worker process (arena.worker) so that code which crashes, exits or
hangs cannot take the checker down: each check has a time limit, and a worker that overruns it is
killed and replaced for the remaining exercises."""

from __future__ import annotations

import json
import linecache
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from arena.catalog import Part, get_part
from arena.checking import CheckFailure, limit_of
from arena.lesson import load_lesson

PASSED, FAILED, NOT_IMPLEMENTED, ERROR = "passed", "failed", "not_implemented", "error"
# Importing torch and the learner's file can be slow on a cold laptop; ARENA_IMPORT_TIMEOUT overrides.
IMPORT_GRACE_S = float(os.environ.get("ARENA_IMPORT_TIMEOUT", "60"))


@dataclass
class Result:
    exercise: str
    status: str
    message: str
    seconds: float

    def to_json(self) -> dict:
        return asdict(self)


class CheckTimeout(Exception):
    """Raised inside a check that ran past its time limit."""


class UsageError(ValueError):
    """The request itself is wrong (unknown exercise, missing file): CLI exit code 2."""


def exercise_names(part: Part, only: list[str] | None = None) -> list[str]:
    names = load_lesson(part).exercise_names()
    if not only:
        return names
    unknown = [n for n in only if n not in names]
    if unknown:
        raise UsageError(f"Part {part.id} has no exercise {', '.join(map(repr, unknown))}. "
                         f"Exercises: {', '.join(names)}")
    return [n for n in names if n in only]


def check_function(part: Part, name: str) -> Callable:
    checks = part.module("checks")
    fn = getattr(checks, f"check_{name}", None) if checks else None
    if fn is None:
        raise LookupError(f"part {part.id} has no check_{name} in checks.py")
    return fn


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise CheckTimeout in the main thread after `seconds` (no-op off the main thread or on Windows)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise CheckTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def learner_files(obj: object) -> set[str]:
    """Source files an object's code lives in (a .py file, or a notebook cell's pseudo-file)."""
    files: set[str] = set()
    candidates = [obj] + (list(vars(obj).values()) if isinstance(obj, type) else [])
    for item in candidates:
        item = getattr(item, "__func__", item)
        code = getattr(item, "__code__", None)
        if code is not None:
            files.add(code.co_filename)
    return files


def _learner_frame(tb: TracebackType | None, files: set[str]) -> tuple[str, int, str] | None:
    """The innermost traceback frame inside the learner's code: (file name, line, source line)."""
    found = None
    for frame, lineno in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if filename in files:
            found = (Path(filename).name, lineno, linecache.getline(filename, lineno).strip())
    return found


def _where(frame: tuple[str, int, str] | None) -> str:
    if frame is None:
        return ""
    name, line, text = frame
    return f" (line {line} of {name}: `{text}`)" if text else f" (line {line} of {name})"


def time_limit_message(name: str, seconds: float) -> str:
    return (f"{name} did not finish within {seconds:g} s. Look for a loop that never ends, or a Python "
            "loop over every element where one batched tensor operation would do.")


def classify(name: str, err: BaseException, files: set[str]) -> tuple[str, str]:
    """Turn an exception raised while checking `name` into (status, message)."""
    frame = _learner_frame(err.__traceback__, files)
    if isinstance(err, NotImplementedError):
        return NOT_IMPLEMENTED, f"{name} is not implemented yet (it still raises NotImplementedError)."
    if isinstance(err, CheckFailure) or (isinstance(err, AssertionError) and frame is None):
        return FAILED, str(err) or f"{name} gave a wrong result."
    detail = f"{type(err).__name__}: {err}".rstrip(": ")
    if frame is not None:
        return ERROR, f"{name} raised {detail}{_where(frame)}"
    return ERROR, (f"The check could not use what {name} returned or built: {detail}. "
                   "Compare your return type and shape with the docstring.")


def run_check(part: Part, name: str, obj: object, files: set[str] | None = None,
              time_limit: float | None = None) -> Result:
    """Run one exercise's check against `obj` in this process; never raises for learner mistakes."""
    check = check_function(part, name)
    limit = time_limit if time_limit is not None else limit_of(check)
    files = files if files is not None else learner_files(obj)
    start = time.perf_counter()
    try:
        with _alarm(limit):
            note = check(obj)
    except CheckTimeout:
        return Result(name, ERROR, time_limit_message(name, limit), time.perf_counter() - start)
    except Exception as err:  # noqa: BLE001 - every learner mistake becomes a message
        status, message = classify(name, err, files)
        return Result(name, status, message, time.perf_counter() - start)
    return Result(name, PASSED, note or "passed", time.perf_counter() - start)


def check_object(part_id: str, obj: object, *, record: bool = True) -> Result:
    """Check one function or class by its name (the notebook entry point) and print the outcome."""
    part = get_part(part_id)
    name = getattr(obj, "__name__", None)
    names = load_lesson(part).exercise_names()
    if name not in names:
        raise UsageError(f"{name!r} is not an exercise of part {part.id}. Exercises: {', '.join(names)}")
    result = run_check(part, name, obj)
    if record:
        from arena.progress import record_results
        record_results(part.id, [result], source="notebook")
    from arena.report import format_result
    print(format_result(result))
    return result


# ---------------------------------------------------------------- file checks in a worker process

def _worker_command(part: Part, path: Path, names: list[str]) -> list[str]:
    return [sys.executable, "-m", "arena.worker", part.id, str(path), *names]


def _read_events(stream, events: queue.Queue) -> None:
    for line in stream:
        try:
            events.put(json.loads(line))
        except json.JSONDecodeError:
            continue
    events.put(None)


def _run_worker(part: Part, path: Path, names: list[str], limits: dict[str, float],
                on_result: Callable[[Result], None]) -> list[str]:
    """Run checks in one worker; return the names it did not get to (after a kill or crash)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", TQDM_DISABLE="1")  # no progress bars inside checks
    proc = subprocess.Popen(_worker_command(part, path, names), stdout=subprocess.PIPE, stderr=None,
                            stdin=subprocess.DEVNULL, text=True, env=env)
    events: queue.Queue = queue.Queue()
    threading.Thread(target=_read_events, args=(proc.stdout, events), daemon=True).start()
    remaining = list(names)
    current, deadline = None, time.monotonic() + IMPORT_GRACE_S
    try:
        while remaining:
            try:
                event = events.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                # The worker overran: the running check (or the import) gets a time-limit error.
                proc.kill()
                if current is None:
                    for name in remaining:
                        on_result(Result(name, ERROR, f"Importing {path.name} took longer than "
                                         f"{IMPORT_GRACE_S:g} s. Is slow code running at the top level of "
                                         "your file? Move it under `if __name__ == '__main__':`.", 0.0))
                    return []
                on_result(Result(current, ERROR, time_limit_message(current, limits[current]),
                                 limits[current]))
                remaining.remove(current)
                return remaining
            if event is None:  # worker died without finishing
                proc.wait()
                victim = current or remaining[0]
                on_result(Result(victim, ERROR, f"Python exited while checking {victim} (exit code "
                                 f"{proc.returncode}). Does your code call exit() or crash the interpreter?",
                                 0.0))
                remaining.remove(victim)
                return remaining
            if event["event"] == "start":
                current = event["exercise"]
                deadline = time.monotonic() + limits[current] + 5.0
            elif event["event"] == "result":
                result = Result(event["exercise"], event["status"], event["message"], event["seconds"])
                on_result(result)
                remaining.remove(result.exercise)
                current = None
                if remaining:  # the next "start" event follows at once; allow for a slow one anyway
                    deadline = time.monotonic() + limits[remaining[0]] + 5.0
        return []
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def check_file(part: Part, path: Path, only: list[str] | None = None,
               on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Check a learner's exercise file, exercise by exercise, in lesson order."""
    if not path.exists():
        raise UsageError(f"{path} does not exist. Create it with `arena start {part.id}`, "
                         "or point to your file with --file.")
    names = exercise_names(part, only)
    limits = {n: limit_of(check_function(part, n)) for n in names}
    results: dict[str, Result] = {}

    def collect(result: Result) -> None:
        results[result.exercise] = result
        if on_result:
            on_result(result)

    remaining = names
    while remaining:
        remaining = _run_worker(part, path, remaining, limits, collect)
    return [results[n] for n in names]
