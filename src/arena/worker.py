"""The process that imports a learner's file and runs checks on it; speaks JSON lines.

Usage: python -m arena.worker PART_ID
It caps its own memory, imports torch and the part's checks at once, then reads requests
`{"file": PATH, "names": [EXERCISE, ...]}` one per line on stdin and answers each exercise with a
"start" event (with its time limit) and a "result" event on stdout, until stdin closes. The learner's
module is imported afresh for every request, so `arena watch` keeps one warm worker.

The learner's output never reaches the protocol or the terminal: Python-level prints go to a bounded
buffer per exercise, C-level output to stderr (a file the checker reads if the worker dies)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import linecache
import os
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

from arena.catalog import get_part
from arena.checker import (
    ERROR,
    FAILED,
    Result,
    TailBuffer,
    _is_out_of_memory,
    _learner_frame,
    _where,
    check_function,
    file_output,
    format_output,
    memory_message,
    run_check,
    set_memory_cap,
)

MODULE_NAME = "arena_learner_exercises"


def _send(channel, **event) -> None:
    channel.write(json.dumps(event) + "\n")
    channel.flush()


def _forget_learner_modules(folder: Path) -> None:
    """Drop the learner's module and any module imported from its folder, so a save is seen."""
    sys.modules.pop(MODULE_NAME, None)
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).parent == folder:
            del sys.modules[name]
    importlib.invalidate_caches()
    linecache.clearcache()


def load_learner_module(path: Path) -> ModuleType:
    _forget_learner_modules(path.parent)
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def describe_import_error(path: Path, err: BaseException) -> str:
    """A short message for a learner file that cannot be imported."""
    if isinstance(err, SyntaxError):
        text = (err.text or "").rstrip()
        pointer = ""
        if text and err.offset:
            pointer = "\n    " + " " * (err.offset - 1 - (len(text) - len(text.lstrip()))) + "^"
        return (f"{path.name} has a syntax error on line {err.lineno}: {err.msg}"
                + (f"\n    {text.strip()}{pointer}" if text else ""))
    frame = _learner_frame(err.__traceback__, {str(path)})
    if _is_out_of_memory(err):
        return memory_message(f"Importing {path.name}", _where(frame))
    if isinstance(err, ImportError):
        return f"{path.name} could not be imported: {err}{_where(frame)}. Is a package missing or misspelt?"
    return (f"{path.name} raised {type(err).__name__}: {err} while being imported{_where(frame)}. "
            "Code at the top level of the file runs on every check; move experiments under "
            "`if __name__ == '__main__':`.")


class Outputs:
    """The learner's output during one step: Python-level in a TailBuffer, C-level in the stderr file."""

    def __init__(self, buffer: TailBuffer, log: Path | None):
        self.buffer, self.log = buffer, log
        self.start = 0

    def begin(self) -> None:
        self.buffer.reset()
        self.start = _stderr_size()

    def text(self) -> str:
        python_level = format_output(self.buffer.tail(), self.buffer.total_chars, self.buffer.total_lines)
        c_level = ""
        if self.log is not None and _stderr_size() > self.start:
            c_level = file_output(self.log, self.start)
        return "\n".join(t for t in (python_level, c_level) if t)


def _stderr_size() -> int:
    try:
        return os.fstat(2).st_size
    except OSError:
        return 0


def _stderr_file() -> Path | None:
    try:
        target = Path(os.readlink("/proc/self/fd/2"))
    except OSError:
        return None
    return target if target.is_file() else None


def check_request(part, path: Path, names: list[str], channel, outputs: Outputs) -> None:
    exercises = set(names) | set(_all_names(part))
    outputs.begin()
    try:
        module = load_learner_module(path)
    except BaseException as err:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
        message, output = describe_import_error(path, err), outputs.text()
        for name in names:
            _send(channel, event="result", **Result(name, ERROR, message, 0.0, output).to_json())
        return
    for name in names:
        try:
            limit = _limit(part, name)
        except Exception as err:  # noqa: BLE001 - a missing or broken checks.py is the course's bug
            _send(channel, event="result", **Result(name, ERROR, f"The course has no check for {name}: {err}",
                                                    0.0).to_json())
            continue
        _send(channel, event="start", exercise=name, limit=limit)
        obj = getattr(module, name, None)
        start = time.perf_counter()
        outputs.begin()
        if obj is None:
            result = Result(name, ERROR, f"{path.name} has no function or class named {name}. "
                            f"Did you rename or delete it? `arena start {part.id} --force` recreates the file "
                            "(it overwrites your work, so copy it first).", 0.0)
        else:
            try:
                result = run_check(part, name, obj, files={str(path)}, time_limit=limit, exercises=exercises)
            except BaseException as err:  # noqa: BLE001 - e.g. SystemExit from the learner's code
                frame = _learner_frame(err.__traceback__, {str(path)})
                result = Result(name, ERROR, f"{name} raised {type(err).__name__}{_where(frame)}",
                                time.perf_counter() - start)
        if result.status in (FAILED, ERROR):
            result.output = outputs.text()
        _send(channel, event="result", **result.to_json())


def _all_names(part) -> list[str]:
    from arena.lesson import load_lesson

    return load_lesson(part).exercise_names()


def _limit(part, name: str) -> float:
    from arena.checking import limit_of

    return limit_of(check_function(part, name))


def main(argv: list[str]) -> int:
    (part_id,) = argv
    channel = os.fdopen(os.dup(1), "w")
    requests = os.fdopen(os.dup(0), "r")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # input() in the learner's code sees end-of-file instead of the requests
    sys.stdin = open(os.devnull)  # noqa: SIM115
    os.dup2(2, 1)  # C-level output of the learner's code goes to stderr, never into the protocol
    buffer = TailBuffer()
    sys.stdout = sys.stderr = buffer  # Python-level prints: the last lines are kept for the result
    outputs = Outputs(buffer, _stderr_file())
    set_memory_cap()
    part = get_part(part_id)
    try:  # load torch and the checks (and their fixtures) before the first request arrives
        part.module("checks")
    except Exception:  # noqa: BLE001 - reported per exercise when a check is looked up
        pass
    _send(channel, event="ready")
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        log = outputs.log
        if log is not None:
            os.ftruncate(2, 0)  # stderr is opened for appending: keep only this request's output
        check_request(part, Path(request["file"]).resolve(), request["names"], channel, outputs)
        _send(channel, event="done")
        buffer.reset()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception:  # noqa: BLE001 - last resort: never show the learner a checker traceback
        traceback.print_exc(limit=1, file=sys.__stderr__)
        sys.exit(3)
