"""Generated per part: solutions pass, stubs fail with "not implemented", variants behave, lessons resolve."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

from arena.catalog import Part, all_parts
from arena.checker import FAILED, NOT_IMPLEMENTED, PASSED, check_file, run_check
from arena.lesson import Code, load_lesson
from arena.stubs import SolutionsFile, make_stub_module

PARTS = all_parts()
EXERCISES = [(p, name) for p in PARTS for name in load_lesson(p).exercise_names()]


def _ids(items):
    return [f"{p.id}-{n}" for p, n in items]


def _variants(kind: str) -> list[tuple[Part, str, str, object]]:
    found = []
    for part in PARTS:
        module = part.module("variants")
        for obj in vars(module).values() if module else []:
            mark = getattr(obj, "__arena_variant__", None)
            if mark and mark[0] == kind:
                found.append((part, mark[1], mark[2], obj))
    return found


@pytest.mark.parametrize(("part", "name"), EXERCISES, ids=_ids(EXERCISES))
def test_reference_solution_passes(part: Part, name: str) -> None:
    solutions = part.module("solutions")
    result = run_check(part, name, getattr(solutions, name))
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("part", PARTS, ids=[p.id for p in PARTS])
def test_every_stub_fails_as_not_implemented(part: Part, tmp_path: Path) -> None:
    stub = tmp_path / "exercises.py"
    stub.write_text(make_stub_module(part))
    results = check_file(part, stub)
    assert results, "part has no exercises"
    for r in results:
        assert r.status == NOT_IMPLEMENTED, f"{r.exercise}: {r.status}: {r.message}"
        assert "not implemented" in r.message


WRONG = _variants("wrong")
RIGHT = _variants("right")


@pytest.mark.parametrize(("part", "exercise", "reason", "impl"), WRONG,
                         ids=[f"{p.id}-{e}-{getattr(i, '__name__', '?')}" for p, e, _, i in WRONG])
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # e.g. the unstable cross-entropy
def test_known_mistake_fails_its_check(part: Part, exercise: str, reason: str, impl: object) -> None:
    result = run_check(part, exercise, impl)
    assert result.status == FAILED, f"mistake '{reason}' was not caught: {result.status}: {result.message}"


@pytest.mark.parametrize(("part", "exercise", "reason", "impl"), RIGHT,
                         ids=[f"{p.id}-{e}-{getattr(i, '__name__', '?')}" for p, e, _, i in RIGHT])
def test_other_correct_method_passes(part: Part, exercise: str, reason: str, impl: object) -> None:
    result = run_check(part, exercise, impl)
    assert result.status == PASSED, f"correct variant '{reason}' rejected: {result.message}"


@pytest.mark.parametrize("part", PARTS, ids=[p.id for p in PARTS])
def test_lesson_directives_resolve(part: Part) -> None:
    lesson = load_lesson(part)
    solutions_file = SolutionsFile(part.solutions_path)
    checks, figures = part.module("checks"), part.module("figures")
    names = lesson.exercise_names()
    assert names, "a part needs at least one exercise"
    assert len(names) == len(set(names)), "an exercise is declared twice"
    for name in names:
        assert solutions_file.has_region(name), f"{name}: no '# SOLUTION' region in solutions.py"
        assert hasattr(checks, f"check_{name}"), f"{name}: no check_{name} in checks.py"
        assert lesson.hints(name), f"{name}: no hint"
        assert any(d.name == name for d in lesson.directives("solution")), f"{name}: no solution block"
    for d in lesson.directives("hint") + lesson.directives("solution"):
        assert d.name in names, f"line {d.line}: {d.kind} for unknown exercise {d.name!r}"
    for d in lesson.directives("figure"):
        assert figures is not None and callable(getattr(figures, d.name, None)), f"figure {d.name!r} missing"
        assert not inspect.signature(getattr(figures, d.name)).parameters, f"figure {d.name} takes arguments"
    for d in lesson.directives("code"):
        solutions_file.definition(d.name)  # raises KeyError when missing
    assert lesson.headings(1), "a lesson needs sections (# headings)"


@pytest.mark.parametrize("part", PARTS, ids=[p.id for p in PARTS])
def test_stub_module_imports_and_keeps_every_exercise(part: Part, tmp_path: Path) -> None:
    path = tmp_path / "exercises.py"
    path.write_text(make_stub_module(part))
    name = f"stub_{part.id.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as the checker's worker does; dataclasses need it
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    for name in load_lesson(part).exercise_names():
        assert hasattr(module, name), name


@pytest.mark.parametrize("part", PARTS, ids=[p.id for p in PARTS])
def test_runnable_lesson_code_compiles(part: Part) -> None:
    for block in load_lesson(part).blocks:
        if isinstance(block, Code) and block.runnable:
            compile(block.source, f"{part.id} lesson", "exec")
