"""Issue 17: a damaged or unusual environment never stops a learner from checking their work."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from arena import check
from arena.checker import OUTPUT_TAIL_LINES, TailBuffer, format_output
from tests.helpers import FIRST, PART, json_results, learner_file, run_arena

GARBAGE = b"this is not a database, a sync tool wrote it" * 100


def test_damaged_store_is_moved_aside_and_checks_run(tmp_path: Path, isolated_home: Path) -> None:
    store = isolated_home / "progress.sqlite3"
    store.write_bytes(GARBAGE)
    path = learner_file(tmp_path / "mine.py")
    proc = run_arena("check", PART, "--file", str(path), "--only", FIRST, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json_results(proc)[FIRST]["status"] == "passed"
    assert "Traceback" not in proc.stdout + proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "Warning" in line]
    assert len(warnings) == 1, proc.stderr
    kept = list(isolated_home.glob("progress.sqlite3.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == GARBAGE  # kept, never deleted
    assert str(store) in warnings[0] and kept[0].name in warnings[0]
    with sqlite3.connect(store) as conn:  # a fresh store holds the new result
        assert conn.execute("SELECT exercise, status FROM attempts").fetchall() == [(FIRST, "passed")]
    proc = run_arena("progress", PART, cwd=tmp_path)
    assert proc.returncode == 0 and "passed" in proc.stdout and "Warning" not in proc.stderr


def test_progress_and_list_survive_a_damaged_store(tmp_path: Path, isolated_home: Path) -> None:
    (isolated_home / "progress.sqlite3").write_bytes(GARBAGE)
    for args in (("progress",), ("list",), ("reset", PART, "--yes")):
        proc = run_arena(*args, cwd=tmp_path)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "DatabaseError" not in proc.stderr


def test_unwritable_home_is_one_warning_and_checks_still_report(tmp_path: Path) -> None:
    """Tests run as root, so a read-only directory is simulated by ARENA_HOME under a regular file
    (creating the directory fails with NotADirectoryError, as it would with EACCES or EROFS)."""
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    home = blocker / "home"
    path = learner_file(tmp_path / "mine.py")
    proc = run_arena("check", PART, "--file", str(path), "--only", FIRST, cwd=tmp_path,
                     env_extra={"ARENA_HOME": str(home)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1/1 exercises pass" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "Warning" in warnings[0] and str(home) in warnings[0], proc.stderr
    assert "skipped" in warnings[0]
    proc = run_arena("progress", PART, cwd=tmp_path, env_extra={"ARENA_HOME": str(home)})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("kind", ["directory", "missing", "not_python"])
def test_bad_file_argument_is_a_usage_error(tmp_path: Path, kind: str) -> None:
    target = {"directory": tmp_path, "missing": tmp_path / "nope.py", "not_python": tmp_path / "notes.txt"}[kind]
    if kind == "not_python":
        target.write_text("hello")
    expected = {"directory": "is a directory", "missing": "does not exist", "not_python": "not a Python file"}[kind]
    for command in ("check", "watch"):
        proc = run_arena(command, PART, "--file", str(target), cwd=tmp_path, timeout=120)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and expected in lines[0], proc.stderr
        assert "AssertionError" not in proc.stdout + proc.stderr


FLOOD = (f"def {FIRST}(num_pixels, y_limits):\n"
         "    for i in range(100_000):\n"
         "        print('spam line', i, 'x' * 60)\n"
         "    return [[0, 0, 0]]\n")


def test_print_flood_is_captured_and_bounded(tmp_path: Path) -> None:
    path = learner_file(tmp_path / "mine.py", FLOOD)  # ~8 MB of output, then a wrong result
    proc = run_arena("check", PART, "--file", str(path), "--only", FIRST, "--only", "ray_points", cwd=tmp_path,
                     env_extra={"ARENA_TIME_LIMIT": "60"})  # printing 25 MB takes a while on a busy machine
    assert proc.returncode == 1
    assert len(proc.stdout) + len(proc.stderr) < 20_000, len(proc.stdout) + len(proc.stderr)
    assert "should return a Tensor" in proc.stdout  # the result is still reported
    assert "spam line 99999" in proc.stdout  # the last lines are shown...
    assert "100,000 lines" in proc.stdout and "cut" in proc.stdout  # ...with a note of how much was cut
    assert "1/2 exercises pass" in proc.stdout


def test_output_of_a_passing_check_is_not_shown(tmp_path: Path) -> None:
    path = learner_file(tmp_path / "mine.py", prefix="print('hello from my file')\n")
    proc = run_arena("check", PART, "--file", str(path), "--json", "--only", FIRST, cwd=tmp_path)
    assert proc.returncode == 0
    assert json_results(proc)[FIRST]["status"] == "passed"
    assert "hello from my file" not in proc.stdout + proc.stderr


def test_runaway_allocation_is_that_exercises_error(tmp_path: Path) -> None:
    """torch.empty reserves without touching the pages, so without a cap it succeeds (harmlessly) and
    the check only sees a wrong shape; with the cap it is reported as a memory error."""
    code = f"def {FIRST}(num_pixels, y_limits):\n    import torch\n    return torch.empty(3 * 2**30)\n"
    path = learner_file(tmp_path / "mine.py", code)
    proc = run_arena("check", PART, "--file", str(path), "--json", "--only", FIRST, "--only", "ray_points",
                     "--only", "intersect_ray_1d", cwd=tmp_path, env_extra={"ARENA_MEMORY_LIMIT": "3G"})
    results = json_results(proc)
    assert results[FIRST]["status"] == "error", results[FIRST]
    assert "memory" in results[FIRST]["message"] and "ARENA_MEMORY_LIMIT" in results[FIRST]["message"]
    assert "of mine.py" in results[FIRST]["message"]  # the learner's line is quoted
    assert results["ray_points"]["status"] == results["intersect_ray_1d"]["status"] == "passed"
    assert "Traceback" not in proc.stdout + proc.stderr


def test_format_output_keeps_the_last_lines_and_says_how_much_was_cut() -> None:
    buffer = TailBuffer(keep=500)
    for i in range(1000):
        buffer.write(f"line {i}\n")
    text = format_output(buffer.tail(), buffer.total_chars, buffer.total_lines)
    lines = text.splitlines()
    assert lines[-1] == "line 999" and len(lines) == OUTPUT_TAIL_LINES + 1
    assert "1,000 lines" in lines[0] and "980 were cut" in lines[0]
    assert format_output("", 0, 0) == ""
    assert format_output("one\ntwo\n", 8, 2) == "Your code printed:\none\ntwo"


def test_notebook_check_captures_prints_and_survives_a_damaged_store(
        isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated_home / "progress.sqlite3").write_bytes(GARBAGE)

    def make_rays_1d(num_pixels, y_limits):
        for i in range(20_000):
            print("noise", i)
        return [[0, 0, 0]]

    result = check(PART, make_rays_1d)
    captured = capsys.readouterr()
    assert result.status == "failed", result
    assert len(captured.out) + len(captured.err) < 10_000
    assert "noise 19999" in captured.out and "cut" in captured.out
    assert captured.err.count("Warning") == 1 and "damaged" in captured.err
    assert list(isolated_home.glob("progress.sqlite3.damaged-*"))
