"""The learner's commands, run as subprocesses exactly as a learner types them."""

from __future__ import annotations

import json
import queue
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from arena.catalog import get_part
from arena.lesson import load_lesson
from tests.helpers import FIRST, PART, json_results, learner_file, run_arena

NAMES = load_lesson(get_part(PART)).exercise_names()


def test_help_lists_every_command(tmp_path: Path) -> None:
    proc = run_arena("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for command in ("list", "start", "check", "watch", "hint", "solution", "notebook", "progress", "serve"):
        assert command in proc.stdout


def test_list_shows_parts(tmp_path: Path) -> None:
    proc = run_arena("list", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert PART in proc.stdout and get_part(PART).title in proc.stdout


def test_start_then_check_reports_not_implemented(tmp_path: Path) -> None:
    proc = run_arena("start", PART, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / get_part(PART).workspace_relpath
    assert path.exists()
    proc = run_arena("check", PART, "--json", cwd=tmp_path)
    assert proc.returncode == 1
    results = json_results(proc)
    assert list(results) == NAMES
    assert {r["status"] for r in results.values()} == {"not_implemented"}
    assert set(results[FIRST]) == {"exercise", "status", "message", "seconds"}


def test_start_never_overwrites_without_force(tmp_path: Path) -> None:
    run_arena("start", PART, cwd=tmp_path)
    path = tmp_path / get_part(PART).workspace_relpath
    path.write_text("# my precious work\n")
    proc = run_arena("start", PART, cwd=tmp_path)
    assert proc.returncode == 1
    assert "left untouched" in proc.stderr
    assert path.read_text() == "# my precious work\n"
    proc = run_arena("start", PART, "--force", cwd=tmp_path)
    assert proc.returncode == 0
    assert "NotImplementedError" in path.read_text()
    assert path.with_name("exercises.py.bak").read_text() == "# my precious work\n"


def test_solutions_pass_with_exit_zero_and_progress_is_recorded(tmp_path: Path) -> None:
    path = learner_file(tmp_path / "mine.py")
    start = time.perf_counter()
    proc = run_arena("check", PART, "--file", str(path), cwd=tmp_path)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(NAMES)}/{len(NAMES)} exercises pass" in proc.stdout
    print(f"check run time for {PART}: {elapsed:.1f} s")
    proc = run_arena("progress", cwd=tmp_path)
    assert proc.returncode == 0
    assert FIRST in proc.stdout and "passed" in proc.stdout
    proc = run_arena("reset", PART, "--yes", cwd=tmp_path)
    assert proc.returncode == 0 and f"Forgot {len(NAMES)} stored result(s)" in proc.stdout
    assert "passed" not in run_arena("progress", cwd=tmp_path).stdout  # only this part had results


def test_only_runs_one_exercise(tmp_path: Path) -> None:
    path = learner_file(tmp_path / "mine.py")
    proc = run_arena("check", PART, "--file", str(path), "--only", FIRST, "--json", cwd=tmp_path)
    assert proc.returncode == 0
    assert list(json_results(proc)) == [FIRST]


@pytest.mark.parametrize("args", [("check", "9.9"), ("check", PART, "--file", "nope.py"),
                                  ("check", PART, "--only", "no_such_exercise"), ("hint", PART, "nope"),
                                  ("solution", "x.y", FIRST)])
def test_usage_errors_exit_two_with_a_message(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = run_arena(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.strip()


BAD_FILES = {
    "syntax_error": ("", "def broken(:\n    pass", "syntax error on line"),
    "missing_import": ("import definitely_not_a_module\n", "", "No module named 'definitely_not_a_module'"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_file_that_does_not_import_gets_one_clear_message(tmp_path: Path, case: str) -> None:
    prefix, override, expected = BAD_FILES[case]
    path = learner_file(tmp_path / "mine.py", override, prefix)
    proc = run_arena("check", PART, "--file", str(path), "--json", cwd=tmp_path)
    assert proc.returncode == 1
    results = json_results(proc)
    assert {r["status"] for r in results.values()} == {"error"}
    assert expected in results[FIRST]["message"]
    assert "Traceback" not in proc.stdout + proc.stderr


BAD_FUNCTIONS = {
    "raises": ("def make_rays_1d(num_pixels, y_limits):\n    return [][3]",
               "error", "raised IndexError: list index out of range (line"),
    "wrong_type": ("def make_rays_1d(num_pixels, y_limits):\n    return [[0, 0, 0]]",
                   "failed", "should return a Tensor"),
    "wrong_shape": ("def make_rays_1d(num_pixels, y_limits):\n    import torch\n    return torch.zeros(num_pixels, 3, 2)",
                    "failed", "wrong shape"),
    "never_returns": ("def make_rays_1d(num_pixels, y_limits):\n    while True:\n        pass",
                      "error", "did not finish within"),
    "exits": ("def make_rays_1d(num_pixels, y_limits):\n    import os\n    os._exit(7)",
              "error", "exited while checking make_rays_1d"),
}


@pytest.mark.parametrize("case", sorted(BAD_FUNCTIONS))
def test_broken_function_gets_a_specific_message_and_others_still_run(tmp_path: Path, case: str) -> None:
    code, status, expected = BAD_FUNCTIONS[case]
    path = learner_file(tmp_path / "mine.py", code)
    proc = run_arena("check", PART, "--file", str(path), "--json", cwd=tmp_path)
    assert proc.returncode == 1
    results = json_results(proc)
    assert results[FIRST]["status"] == status, results[FIRST]
    assert expected in results[FIRST]["message"], results[FIRST]["message"]
    assert "Traceback" not in proc.stdout + proc.stderr
    others = [r for name, r in results.items() if name != FIRST]
    assert others and all(r["status"] == "passed" for r in others), others


def test_import_that_hangs_is_stopped(tmp_path: Path) -> None:
    path = learner_file(tmp_path / "mine.py", prefix="import time\ntime.sleep(600)\n")
    proc = run_arena("check", PART, "--file", str(path), "--json", "--only", FIRST, cwd=tmp_path,
                     env_extra={"ARENA_IMPORT_TIMEOUT": "8"})
    assert proc.returncode == 1
    assert "took longer than" in json_results(proc)[FIRST]["message"]


def test_learner_prints_do_not_break_json(tmp_path: Path) -> None:
    code = f"def {FIRST}(num_pixels, y_limits):\n    print('hello from my function')\n    return [[0, 0, 0]]"
    path = learner_file(tmp_path / "mine.py", code, prefix="print('hello from my file')\n")
    proc = run_arena("check", PART, "--file", str(path), "--json", "--only", FIRST, cwd=tmp_path)
    assert proc.returncode == 1
    result = json_results(proc)[FIRST]  # every stdout line is still JSON
    assert result["status"] == "failed"
    assert result["output"] == "Your code printed:\nhello from my function"  # captured per exercise


def test_two_checks_at_once_keep_progress_consistent(tmp_path: Path, isolated_home: Path) -> None:
    path = learner_file(tmp_path / "mine.py")
    procs = [subprocess.Popen([sys.executable, "-m", "arena.cli", "check", PART, "--file", str(path), "--json"],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs:
        p.communicate(timeout=300)
        assert p.returncode == 0
    with sqlite3.connect(isolated_home / "progress.sqlite3") as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM attempts").fetchone()
        (integrity,) = conn.execute("PRAGMA integrity_check").fetchone()
    assert count == 2 * len(NAMES)
    assert integrity == "ok"


def test_hint_and_solution_print_lesson_content(tmp_path: Path) -> None:
    proc = run_arena("hint", PART, FIRST, cwd=tmp_path)
    assert proc.returncode == 0 and "Hint 1" in proc.stdout
    proc = run_arena("solution", PART, FIRST, cwd=tmp_path)
    assert proc.returncode == 0 and f"def {FIRST}" in proc.stdout
    assert "# SOLUTION" not in proc.stdout


def test_notebook_written_and_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "nb.ipynb"
    assert run_arena("notebook", PART, "-o", str(out), cwd=tmp_path).returncode == 0
    cells = json.loads(out.read_text())["cells"]
    assert any(f'check("{PART}", {FIRST})' in "".join(c["source"]) for c in cells)
    assert run_arena("notebook", PART, "-o", str(out), cwd=tmp_path).returncode == 1


def test_watch_rechecks_when_the_file_is_saved(tmp_path: Path) -> None:
    path = learner_file(tmp_path / "mine.py", "def make_rays_1d(num_pixels, y_limits):\n    raise NotImplementedError")
    proc = subprocess.Popen([sys.executable, "-m", "arena.cli", "watch", PART, "--file", str(path),
                             "--only", FIRST], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        output = _read_until(lines, "Watching", timeout=120)
        assert "not implemented" in output
        learner_file(path)  # the learner saves a working version
        output = _read_until(lines, "Watching", timeout=120)
        assert "1/1 exercises pass" in output and f"{FIRST} passed" in output
        path.write_text(path.read_text() + "\n# a comment\n")  # a save that changes no result
        output = _read_until(lines, "Watching", timeout=120)
        assert "No change in any result" in output and "1/1 exercises pass" in output
        assert FIRST not in output  # unchanged results are not reprinted
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_watch_rechecks_only_what_an_edit_reaches(tmp_path: Path) -> None:
    second = NAMES[1]
    path = learner_file(tmp_path / "mine.py")
    proc = subprocess.Popen([sys.executable, "-m", "arena.cli", "watch", PART, "--file", str(path),
                             "--only", FIRST, "--only", second], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        output = _read_until(lines, "Watching", timeout=120)
        assert "2/2 exercises pass" in output and "Kept" not in output
        path.write_text(path.read_text() + f"\n\ndef {second}(rays, us):\n    return rays\n")  # breaks only it
        output = _read_until(lines, "Watching", timeout=120)
        assert "1/2 exercises pass" in output and f"{second} failed" in output
        assert "Kept 1 passing result " in output and FIRST not in output
        path.write_text(path.read_text())  # saved without an edit: everything is checked again
        output = _read_until(lines, "Watching", timeout=120)
        assert "Kept" not in output and "No change in any result" in output and "1/2 exercises pass" in output
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _read_until(lines: queue.Queue, marker: str, timeout: float) -> str:
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError("watch output never reached the marker:\n" + "".join(seen))


def test_notebook_one_call_check(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        from arena import check
        from course.chapter0_fundamentals.part1_ray_tracing.solutions import {FIRST}
        result = check("{PART}", {FIRST})
        assert result.status == "passed", result
        def {FIRST}(num_pixels, y_limits):
            raise NotImplementedError
        assert check("{PART}", {FIRST}).status == "not_implemented"
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "✅" in proc.stdout and "⬜" in proc.stdout


def test_check_finds_the_workspace_from_inside_the_exercise_folder(tmp_path: Path) -> None:
    assert run_arena("start", PART, cwd=tmp_path).returncode == 0
    folder = (tmp_path / get_part(PART).workspace_relpath).parent
    for cwd in (folder, folder.parent, tmp_path / "workspace"):
        proc = run_arena("check", PART, "--json", "--only", FIRST, cwd=cwd)
        assert proc.returncode == 1, proc.stdout + proc.stderr  # found and checked: not implemented yet
        assert json_results(proc)[FIRST]["status"] == "not_implemented"
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    proc = run_arena("check", PART, "--json", "--only", FIRST, cwd=elsewhere)  # remembered by `arena start`
    assert json_results(proc)[FIRST]["status"] == "not_implemented", proc.stderr
    proc = run_arena("start", PART, cwd=folder)  # no second, empty workspace
    assert proc.returncode == 1 and "left untouched" in proc.stderr
    assert not (folder / "workspace").exists()
    proc = run_arena("check", PART, "--file", "typo.py", cwd=folder)
    assert proc.returncode == 2 and "arena start" not in proc.stderr


def test_hint_gives_one_more_hint_per_call(tmp_path: Path) -> None:
    hints = load_lesson(get_part(PART)).hints(FIRST)
    assert len(hints) >= 2
    first = run_arena("hint", PART, FIRST, cwd=tmp_path).stdout
    assert f"Hint 1 of {len(hints)}" in first and "Hint 2" not in first
    second = run_arena("hint", PART, FIRST, cwd=tmp_path).stdout
    assert f"Hint 2 of {len(hints)}" in second and "Hint 1 " not in second
    everything = run_arena("hint", PART, FIRST, "--all", cwd=tmp_path).stdout
    assert all(f"Hint {i} of {len(hints)}" in everything for i in range(1, len(hints) + 1))


def test_progress_accepts_a_part(tmp_path: Path) -> None:
    proc = run_arena("progress", PART, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert get_part(PART).title in proc.stdout and FIRST in proc.stdout
    assert get_part("0.2").title not in proc.stdout
    assert run_arena("progress", "9.9", cwd=tmp_path).returncode == 2


def test_not_implemented_names_the_earlier_exercise(tmp_path: Path) -> None:
    """0.2's conv2d pads with the learner's pad2d: a pad2d still to do is named in conv2d's result."""
    code = "def pad2d(x, left, right, top, bottom, pad_value):\n    raise NotImplementedError"
    path = learner_file(tmp_path / "mine.py", code, part_id="0.2")
    proc = run_arena("check", "0.2", "--file", str(path), "--json", "--only", "conv2d", "--only", "pad2d",
                     cwd=tmp_path)
    results = json_results(proc)
    assert results["pad2d"]["status"] == results["conv2d"]["status"] == "not_implemented"
    assert "uses pad2d" in results["conv2d"]["message"] and "uses" not in results["pad2d"]["message"]


def test_serve_listens_on_localhost_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import arena.cli

    commands: list[list[str]] = []

    class FakeProcess:
        def __init__(self, command: list[str]) -> None:
            commands.append(command)

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(arena.cli.subprocess, "Popen", FakeProcess)
    runner = CliRunner()
    assert runner.invoke(arena.cli.app, ["serve", "--no-browser"]).exit_code == 0
    assert runner.invoke(arena.cli.app, ["serve", "--no-browser", "--host", "0.0.0.0"]).exit_code == 0
    first, second = commands
    assert first[first.index("--server.address") + 1] == "127.0.0.1"
    assert second[second.index("--server.address") + 1] == "0.0.0.0"


def test_progress_bars_are_calm_when_piped(tmp_path: Path) -> None:
    script = ("import time\nimport arena\nfrom tqdm.auto import tqdm\n"
              "bar = tqdm(range(400))\nfor i in bar:\n    bar.set_postfix(loss=i)  # a refresh per batch\n"
              "    time.sleep(0.005)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    redraws = proc.stderr.replace("\r", "\n").count("it/s")
    assert 1 <= redraws <= 3, proc.stderr  # without: 400 lines in a log
