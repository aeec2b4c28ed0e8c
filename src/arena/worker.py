"""The process that imports a learner's file and runs checks on it; speaks JSON lines on stdout.

Usage: python -m arena.worker PART_ID FILE EXERCISE...
Anything the learner's code prints goes to stderr, so it cannot corrupt the protocol."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

from arena.catalog import get_part
from arena.checker import ERROR, Result, _learner_frame, _where, run_check


def _send(channel, **event) -> None:
    channel.write(json.dumps(event) + "\n")
    channel.flush()


def load_learner_module(path: Path) -> ModuleType:
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("arena_learner_exercises", path)
    assert spec and spec.loader
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
    if isinstance(err, ImportError):
        return f"{path.name} could not be imported: {err}{_where(frame)}. Is a package missing or misspelt?"
    return (f"{path.name} raised {type(err).__name__}: {err} while being imported{_where(frame)}. "
            "Code at the top level of the file runs on every check; move experiments under "
            "`if __name__ == '__main__':`.")


def main(argv: list[str]) -> int:
    part_id, file_arg, *names = argv
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the learner's prints (and C-level output) go to stderr
    sys.stdout = sys.stderr
    part = get_part(part_id)
    path = Path(file_arg).resolve()
    try:
        module = load_learner_module(path)
    except BaseException as err:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
        message = describe_import_error(path, err)
        for name in names:
            _send(channel, event="result", **Result(name, ERROR, message, 0.0).to_json())
        return 0
    for name in names:
        _send(channel, event="start", exercise=name)
        obj = getattr(module, name, None)
        start = time.perf_counter()
        if obj is None:
            result = Result(name, ERROR, f"{path.name} has no function or class named {name}. "
                            f"Did you rename or delete it? `arena start {part.id} --force` recreates the file "
                            "(it overwrites your work, so copy it first).", 0.0)
        else:
            try:
                result = run_check(part, name, obj, files={str(path)})
            except BaseException as err:  # noqa: BLE001 - e.g. SystemExit from the learner's code
                frame = _learner_frame(err.__traceback__, {str(path)})
                result = Result(name, ERROR, f"{name} raised {type(err).__name__}{_where(frame)}",
                                time.perf_counter() - start)
        _send(channel, event="result", **result.to_json())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception:  # noqa: BLE001 - last resort: never show the learner a checker traceback
        traceback.print_exc(limit=1)
        sys.exit(3)
