"""Runs a part's checks against a learner's file or object and turns every outcome into a Result.

A file is checked in a separate worker process (arena.worker) so that code which crashes, exits,
hangs or allocates without bound cannot take the checker down: each check has a time limit, the
worker has a memory cap, and a worker that overruns is killed and replaced for the remaining
exercises. `arena watch` keeps one worker warm (torch and the part's checks loaded once).

This module imports neither torch nor a part's code at import time, so that commands which do not
run learner code stay fast; the checking helpers are imported where a check actually runs."""

from __future__ import annotations

import io
import json
import linecache
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from arena.catalog import Part, get_part
from arena.lesson import load_lesson

PASSED, FAILED, NOT_IMPLEMENTED, ERROR = "passed", "failed", "not_implemented", "error"
# Importing torch and the learner's file can be slow on a cold laptop; ARENA_IMPORT_TIMEOUT overrides.
IMPORT_GRACE_S = float(os.environ.get("ARENA_IMPORT_TIMEOUT", "60"))
# Loading torch and the part's checks in a new worker (before the learner's file): not the learner's
# doing, so it gets its own, longer allowance (a cold start on a busy machine); ARENA_WARMUP_TIMEOUT.
WARMUP_GRACE_S = float(os.environ.get("ARENA_WARMUP_TIMEOUT", "300"))
OUTPUT_TAIL_LINES = 20
OUTPUT_KEEP_CHARS = 4000
OUTPUT_LINE_CHARS = 200


@dataclass
class Result:
    exercise: str
    status: str
    message: str
    seconds: float
    output: str = ""  # the tail of what the learner's code printed, kept for failures and errors

    def to_json(self) -> dict:
        data = {"exercise": self.exercise, "status": self.status, "message": self.message, "seconds": self.seconds}
        if self.output:
            data["output"] = self.output
        return data


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


def validate_file(part: Part, path: Path, workspace: Path | None = None) -> None:
    """Raise UsageError unless `path` is an existing Python file (`workspace`: the learner's existing
    exercise file for the part, if known, to point to instead of suggesting `arena start`)."""
    if path.is_dir():
        raise UsageError(f"{path} is a directory; point --file to your exercise file (a .py file), "
                         f"e.g. {path / 'exercises.py'}.")
    if not path.exists():
        hint = (f"your exercise file for {part.id} is {workspace}" if workspace is not None
                else f"create it with `arena start {part.id}`, or point to your file with --file")
        raise UsageError(f"{path} does not exist; {hint}.")
    if path.suffix != ".py":
        raise UsageError(f"{path} is not a Python file (.py); point --file to your exercise file.")


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


# ---------------------------------------------------------------- memory cap

def _parse_bytes(text: str) -> int:
    text = text.strip().upper().removesuffix("B")
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(text[-1:], None)
    return int(float(text[:-1]) * scale) if scale else int(float(text) * 2**20)  # plain numbers are MB


def memory_limit_bytes() -> int | None:
    """The memory cap of a check: $ARENA_MEMORY_LIMIT ("6G", "4096M", plain numbers in MB; "0" or "off"
    for none), else half the machine's memory but at least 4 GiB (torch and transformer_lens need ~2)."""
    setting = os.environ.get("ARENA_MEMORY_LIMIT", "").strip()
    if setting.lower() in ("0", "off", "none"):
        return None
    if setting:
        try:
            return _parse_bytes(setting)
        except ValueError:
            pass
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    return max(4 * 2**30, total // 2)


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def _data_in_use() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def set_memory_cap(extra_over_current: bool = False) -> Callable[[], None]:
    """Cap this process's data memory (RLIMIT_DATA, Linux); returns a function that lifts the cap again.

    Allocations past the cap fail (MemoryError, or torch's "can't allocate memory") instead of pushing
    the machine into swap. With `extra_over_current` the cap is on top of what is already in use
    (for checks run inside a notebook's kernel)."""
    limit = memory_limit_bytes()
    try:
        import resource
    except ImportError:
        return lambda: None
    if limit is None or not hasattr(resource, "RLIMIT_DATA") or not sys.platform.startswith("linux"):
        return lambda: None
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    cap = limit + (_data_in_use() if extra_over_current else 0)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    except (ValueError, OSError):
        return lambda: None

    def lift() -> None:
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
        except (ValueError, OSError):
            pass

    return lift


def _is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, MemoryError) or (isinstance(err, RuntimeError) and "can't allocate memory" in str(err))


# ---------------------------------------------------------------- the learner's own output

class TailBuffer(io.TextIOBase):
    """A text stream that keeps only the last few thousand characters and counts the rest."""

    def __init__(self, keep: int = OUTPUT_KEEP_CHARS):
        self.keep = keep
        self.reset()

    def reset(self) -> None:
        self.chunks: deque[str] = deque()
        self.size = self.total_chars = self.total_lines = 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        n = len(s)
        if not n:
            return 0
        self.total_chars += n
        self.total_lines += s.count("\n")
        self.chunks.append(s)
        self.size += n
        while len(self.chunks) > 1 and self.size - len(self.chunks[0]) >= self.keep:
            self.size -= len(self.chunks.popleft())
        return n

    def tail(self) -> str:
        return "".join(self.chunks)[-self.keep:]

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def isatty(self) -> bool:
        return False


def format_output(tail: str, total_chars: int, total_lines: int) -> str:
    """The last lines of the learner's output, with a note of how much was cut ("" if nothing printed)."""
    if not total_chars:
        return ""
    lines = tail.splitlines()
    if total_chars > len(tail) and lines:
        lines = lines[1:]  # the first kept line may be a fragment
    shown = [ln if len(ln) <= OUTPUT_LINE_CHARS else ln[:OUTPUT_LINE_CHARS] + " …" for ln in lines[-OUTPUT_TAIL_LINES:]]
    total = max(total_lines + (0 if tail.endswith("\n") else 1), len(shown))
    if total > len(shown):
        head = (f"Your code printed {total:,} lines ({_size(total_chars)}); the last {len(shown)} "
                f"(the other {total - len(shown):,} were cut):")
    else:
        head = "Your code printed:"
    return "\n".join([head, *shown])


def _size(chars: int) -> str:
    return f"{chars / 2**20:.1f} MB" if chars >= 2**20 else f"{chars / 2**10:.1f} kB" if chars >= 2**10 else f"{chars} B"


@contextmanager
def captured_output(buffer: TailBuffer) -> Iterator[TailBuffer]:
    """Send Python-level prints (stdout and stderr) to `buffer` while the block runs."""
    with redirect_stdout(buffer), redirect_stderr(buffer):
        yield buffer


# ---------------------------------------------------------------- classifying outcomes

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


def _learner_exercise(tb: TracebackType | None, files: set[str], current: str, exercises: set[str]) -> str | None:
    """Another exercise of the part whose (learner's) code the error came from, e.g. an earlier one
    this exercise builds on that is not implemented yet."""
    found = None
    for frame, _ in traceback.walk_tb(tb):
        code = frame.f_code
        if code.co_filename in files and code.co_name in exercises:
            found = code.co_name
        elif code.co_filename in files:
            qual = getattr(code, "co_qualname", code.co_name).split(".")[0]
            if qual in exercises:
                found = qual
    return found if found and found != current else None


def _where(frame: tuple[str, int, str] | None) -> str:
    if frame is None:
        return ""
    name, line, text = frame
    return f" (line {line} of {name}: `{text}`)" if text else f" (line {line} of {name})"


def time_limit_message(name: str, seconds: float) -> str:
    return (f"{name} did not finish within {seconds:g} s. Look for a loop that never ends, or a Python "
            "loop over every element where one batched tensor operation would do.")


def memory_message(name: str, where: str = "") -> str:
    limit = memory_limit_bytes()
    cap = f"the checker's limit of {_gib(limit)}" if limit else "the memory available"
    return (f"{name} tried to allocate more memory than {cap}{where}. Look for a tensor much larger than "
            "the inputs (an outer product over a whole batch, a list that keeps every intermediate). "
            "ARENA_MEMORY_LIMIT (e.g. 8G) changes the limit.")


def classify(name: str, err: BaseException, files: set[str], exercises: set[str] | None = None) -> tuple[str, str]:
    """Turn an exception raised while checking `name` into (status, message)."""
    from arena.checking import CheckFailure

    frame = _learner_frame(err.__traceback__, files)
    other = _learner_exercise(err.__traceback__, files, name, exercises or set())
    if isinstance(err, NotImplementedError):
        if other:
            return NOT_IMPLEMENTED, (f"{name} is not implemented yet: it uses {other}, which is not implemented "
                                     f"yet (still raises NotImplementedError). Do {other} first.")
        return NOT_IMPLEMENTED, f"{name} is not implemented yet (it still raises NotImplementedError)."
    if isinstance(err, CheckFailure) or (isinstance(err, AssertionError) and frame is None):
        return FAILED, str(err) or f"{name} gave a wrong result."
    if _is_out_of_memory(err):
        return ERROR, memory_message(name, _where(frame))
    detail = f"{type(err).__name__}: {err}".rstrip(": ")
    if frame is not None:
        via = f" in {other}, which {name} uses," if other else ""
        return ERROR, f"{name} raised {detail}{via}{_where(frame)}"
    return ERROR, (f"The check could not use what {name} returned or built: {detail}. "
                   "Compare your return type and shape with the docstring.")


def run_check(part: Part, name: str, obj: object, files: set[str] | None = None,
              time_limit: float | None = None, exercises: set[str] | None = None) -> Result:
    """Run one exercise's check against `obj` in this process; never raises for learner mistakes."""
    from arena.checking import limit_of

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
        status, message = classify(name, err, files, exercises)
        return Result(name, status, message, time.perf_counter() - start)
    return Result(name, PASSED, note or "passed", time.perf_counter() - start)


def check_object(part_id: str, obj: object, *, record: bool = True) -> Result:
    """Check one function or class by its name (the notebook entry point) and print the outcome.

    The learner's prints are captured (the tail is shown on failure) and the check runs under the
    same memory cap as a worker, on top of what the notebook already uses."""
    part = get_part(part_id)
    name = getattr(obj, "__name__", None)
    names = load_lesson(part).exercise_names()
    if name not in names:
        raise UsageError(f"{name!r} is not an exercise of part {part.id}. Exercises: {', '.join(names)}")
    buffer = TailBuffer()
    lift = set_memory_cap(extra_over_current=True)
    try:
        with captured_output(buffer):
            result = run_check(part, name, obj)
    finally:
        lift()
    if result.status in (FAILED, ERROR):
        result.output = format_output(buffer.tail(), buffer.total_chars, buffer.total_lines)
    if record:
        from arena.progress import record_results
        record_results(part.id, [result], source="notebook")
    from arena.report import format_result
    print(format_result(result))
    return result


# ---------------------------------------------------------------- file checks in a worker process

def _read_events(stream, events: queue.Queue) -> None:
    for line in stream:
        try:
            events.put(json.loads(line))
        except json.JSONDecodeError:
            continue
    events.put(None)


def file_output(path: Path, start: int = 0, limit: int = OUTPUT_KEEP_CHARS) -> str:
    """format_output for what was written to a file from byte `start` on (C-level output, crash messages)."""
    size, lines, tail = 0, 0, b""
    try:
        with open(path, "rb") as f:
            f.seek(start)
            while chunk := f.read(1 << 20):
                size += len(chunk)
                lines += chunk.count(b"\n")
                tail = (tail + chunk)[-limit:]
    except OSError:
        return ""
    return format_output(tail.decode("utf-8", "replace"), size, lines)


class Worker:
    """One worker process for one part: imports torch and the part's checks as soon as it starts,
    then checks files on request (the learner's module is re-imported for every request)."""

    def __init__(self, part: Part):
        self.part = part
        fd, name = tempfile.mkstemp(prefix="arena-worker-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        self._log = open(self.log_path, "ab")  # append mode: the worker may truncate it between exercises
        env = dict(os.environ, PYTHONUNBUFFERED="1", TQDM_DISABLE="1")  # no progress bars inside checks
        # Checks are small: one thread is as fast and never spins against other processes for the CPU.
        env.setdefault("OMP_NUM_THREADS", "1")
        self.proc = subprocess.Popen([sys.executable, "-m", "arena.worker", part.id], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True, env=env)
        self.events: queue.Queue = queue.Queue()
        self.ready = False  # torch and the checks are loaded (the worker said "ready")
        threading.Thread(target=_read_events, args=(self.proc.stdout, self.events), daemon=True).start()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        self._log.close()
        self.log_path.unlink(missing_ok=True)

    def run(self, path: Path, names: list[str], on_result: Callable[[Result], None]) -> list[str]:
        """Check `names` in `path`; return the names not reached (the worker was killed or died: close it)."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"file": str(path), "names": names}) + "\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass  # a dead worker: reported below as the first exercise's crash
        remaining = list(names)
        current, limit = None, 0.0
        deadline = time.monotonic() + (IMPORT_GRACE_S if self.ready else WARMUP_GRACE_S + IMPORT_GRACE_S)
        while remaining:
            try:
                event = self.events.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                # The worker overran: the running check (or the import) gets a time-limit error.
                self.proc.kill()
                if current is None:
                    for name in remaining:
                        on_result(Result(name, ERROR, f"Importing {path.name} took longer than "
                                         f"{IMPORT_GRACE_S:g} s. Is slow code running at the top level of "
                                         "your file? Move it under `if __name__ == '__main__':`.", 0.0))
                    return []
                on_result(Result(current, ERROR, time_limit_message(current, limit), limit))
                remaining.remove(current)
                return remaining
            if event is None:  # worker died without finishing
                self.proc.wait()
                victim = current or remaining[0]
                code = self.proc.returncode
                how = ("it was killed, probably for using too much memory" if code == -signal.SIGKILL
                       else f"exit code {code}")
                on_result(Result(victim, ERROR, f"Python exited while checking {victim} ({how}). Does your code "
                                 "call exit() or crash the interpreter?", 0.0, file_output(self.log_path)))
                remaining.remove(victim)
                return remaining
            if event["event"] == "ready":
                self.ready = True
                deadline = time.monotonic() + IMPORT_GRACE_S  # now the learner's file is imported
            elif event["event"] == "start":
                current, limit = event["exercise"], float(event["limit"])
                deadline = time.monotonic() + limit + 5.0
            elif event["event"] == "result":
                result = Result(event["exercise"], event["status"], event["message"], event["seconds"],
                                event.get("output", ""))
                on_result(result)
                remaining.remove(result.exercise)
                current = None
                deadline = time.monotonic() + IMPORT_GRACE_S  # the next "start" follows at once
        return []


def run_in_workers(part: Part, path: Path, names: list[str], on_result: Callable[[Result], None],
                   worker: Worker | None = None) -> tuple[list[Result], Worker | None]:
    """Check `names` with `worker` (or a new one), replacing it after a kill or crash; returns the
    results in order and the worker left alive (None if the last one had to be stopped)."""
    results: dict[str, Result] = {}

    def collect(result: Result) -> None:
        results[result.exercise] = result
        on_result(result)

    remaining = names
    while remaining:
        worker = worker if worker is not None and worker.alive else Worker(part)
        remaining = worker.run(path, remaining, collect)
        if remaining or not worker.alive:
            worker.close()
            worker = None
    return [results[n] for n in names], worker


def check_file(part: Part, path: Path, only: list[str] | None = None,
               on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Check a learner's exercise file, exercise by exercise, in lesson order."""
    validate_file(part, path)
    names = exercise_names(part, only)
    results, worker = run_in_workers(part, path.resolve(), names, on_result or (lambda r: None))
    if worker is not None:
        worker.close()
    return results
