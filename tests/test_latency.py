"""Issue 16: commands that run no learner code import neither torch nor a part's code, and `arena check`
imports torch only in its worker. (Wall-time ratios are not asserted: benchmarks/latency.py prints them.)"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers import FIRST, PART, learner_file

SCRIPT = textwrap.dedent("""
    import sys
    from typer.testing import CliRunner
    from arena.cli import app

    runner = CliRunner()
    for args in {commands!r}:
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1), (args, result.exit_code, result.output)
        heavy = sorted(m for m in sys.modules if m == "torch" or m.startswith(("course.", "numpy")))
        print(" ".join(args), "->", heavy[:5] or "light")
""")


def _run(commands: list[list[str]], cwd: Path) -> str:
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(commands=commands)], cwd=cwd, text=True,
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_commands_without_learner_code_import_no_torch_and_no_part(tmp_path: Path) -> None:
    commands = [["--help"], ["list"], ["hint", PART, FIRST], ["solution", PART, FIRST], ["progress"],
                ["progress", PART], ["start", PART], ["reset", PART, "--yes"], ["check", "--help"]]
    output = _run(commands, tmp_path)
    assert output.count("-> light") == len(commands), output


def test_check_imports_torch_only_in_its_worker(tmp_path: Path) -> None:
    path = learner_file(tmp_path / "mine.py")
    output = _run([["check", PART, "--file", str(path), "--only", FIRST]], tmp_path)
    assert "-> light" in output, output


def test_the_watch_benchmark_edits_exactly_one_exercise() -> None:
    """benchmarks/latency.py times watch on saves that each change one exercise's code (as a learner's edit
    does); a save that changed no code at all would time nothing."""
    import importlib.util

    from arena.catalog import get_part
    from arena.changes import fingerprints, unchanged
    from arena.lesson import load_lesson

    spec = importlib.util.spec_from_file_location("latency", Path(__file__).parents[1] / "benchmarks" / "latency.py")
    latency = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(latency)
    for part_id in ("0.5", "1.3"):  # 0.5 has classes among its exercises
        part = get_part(part_id)
        names = load_lesson(part).exercise_names()
        source = part.solutions_path.read_text()
        for name in names:
            edited = latency.edit_exercise(source, name, 7)
            same = unchanged(fingerprints(source, names), fingerprints(edited, names))
            assert name not in same, (part_id, name)
