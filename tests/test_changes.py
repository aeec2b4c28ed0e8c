"""`arena watch` keeps a passing result only while the code it depends on is unchanged."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from arena.catalog import all_parts
from arena.changes import declared_learner_names, fingerprints, unchanged

BASE = '''"""A learner's file."""
import torch as t

SCALE = 2


def helper(x):
    return x * SCALE


def uses_helper(x):
    return helper(x) + 1


def alone(x):
    # a comment
    return x - 1


class Thing:
    def value(self):
        return 3


def uses_thing():
    return Thing().value()


if __name__ == "__main__":
    print(alone(3))
'''
NAMES = ["helper", "uses_helper", "alone", "uses_thing", "missing"]


def same_after(edit: str, source: str = BASE, names: list[str] = NAMES) -> set[str]:
    return unchanged(fingerprints(source, names), fingerprints(edit, names))


def test_comments_blank_lines_and_the_main_block_change_nothing() -> None:
    edited = BASE.replace("# a comment", "# another comment\n\n").replace("print(alone(3))", "print(alone(4))")
    assert same_after(edited) == set(NAMES)


def test_an_edit_reaches_the_function_and_every_function_that_calls_it() -> None:
    assert same_after(BASE.replace("return x * SCALE", "return x * SCALE * 1")) == {"alone", "uses_thing", "missing"}
    assert same_after(BASE.replace("return x - 1", "return x - 2")) == {"helper", "uses_helper", "uses_thing",
                                                                        "missing"}
    assert same_after(BASE.replace("return 3", "return 4")) == {"helper", "uses_helper", "alone", "missing"}


def test_top_level_code_reaches_everything() -> None:
    assert same_after(BASE.replace("SCALE = 2", "SCALE = 3")) == set()
    assert same_after(BASE.replace("import torch as t", "import torch as t\nt.set_default_dtype(t.float64)")) == set()


def test_a_class_used_at_import_time_reaches_everything() -> None:
    source = BASE + "\nDEFAULT = Thing()\n"
    assert same_after(source.replace("return 3", "return 4"), source) == set()


def test_a_function_that_reaches_globals_dynamically_depends_on_the_whole_file() -> None:
    source = BASE + "\n\ndef sneaky():\n    return globals()['alone'](1)\n"
    names = [*NAMES, "sneaky"]
    assert "sneaky" not in same_after(source.replace("return x - 1", "return x - 2"), source, names)
    assert "sneaky" in same_after(source.replace("# a comment", "# hi"), source, names)


def test_a_redefinition_and_a_decorator_count() -> None:
    redefined = BASE + "\n\ndef alone(x):\n    return x\n"
    assert "alone" not in same_after(redefined)
    decorated = BASE.replace("def alone(x):", "@staticmethod\ndef alone(x):")
    assert "alone" not in same_after(decorated)


def test_a_syntax_error_keeps_nothing() -> None:
    assert fingerprints("def broken(:\n", NAMES) is None
    assert same_after("def broken(:\n") == set()
    assert unchanged(fingerprints("def broken(:\n", NAMES), fingerprints(BASE, NAMES)) == set()


def test_another_python_file_in_the_folder_reaches_everything(tmp_path: Path) -> None:
    path, other = tmp_path / "exercises.py", tmp_path / "my_helpers.py"
    path.write_text(BASE)
    other.write_text("X = 1\n")
    before = fingerprints(BASE, NAMES, path)
    assert unchanged(before, fingerprints(BASE, NAMES, path)) == set(NAMES)
    other.write_text("X = 22\n")
    assert unchanged(before, fingerprints(BASE, NAMES, path)) == set()


def test_a_declared_name_reaches_the_exercise() -> None:
    edited = BASE.replace("return 3", "return 4")  # Thing changes; `alone` does not name it
    assert "alone" in same_after(edited)
    before = fingerprints(BASE, NAMES, uses={"alone": {"Thing"}})
    assert "alone" not in unchanged(before, fingerprints(edited, NAMES, uses={"alone": {"Thing"}}))


NAMESPACES = {"ns", "globals_"}  # how checks name the learner's module namespace


def _namespace_reads(check: ast.FunctionDef) -> set[str]:
    """String keys a check reads from the learner's namespace: _need(ns, "X"), ns["X"], ns.get("X"), "X" in ns."""
    found = set()
    for node in ast.walk(check):
        if isinstance(node, ast.Call):
            func, args = node.func, node.args
            if getattr(func, "id", "") == "_need" and len(args) > 1 and isinstance(args[1], ast.Constant):
                found.add(args[1].value)
            if (isinstance(func, ast.Attribute) and func.attr in ("get", "pop")
                    and getattr(func.value, "id", "") in NAMESPACES and args and isinstance(args[0], ast.Constant)):
                found.add(args[0].value)
        elif isinstance(node, ast.Subscript) and getattr(node.value, "id", "") in NAMESPACES:
            if isinstance(node.slice, ast.Constant):
                found.add(node.slice.value)
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant):
            if any(getattr(c, "id", "") in NAMESPACES for c in node.comparators):
                found.add(node.left.value)
    return found


@pytest.mark.parametrize("part", all_parts(), ids=lambda p: p.id)
def test_every_check_declares_what_it_reads_from_the_learners_file(part) -> None:
    path = part.path / "checks.py"
    if not path.is_file():
        pytest.skip("no checks")
    source = path.read_text()
    declared = declared_learner_names(source)
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("check_"):
            missing = _namespace_reads(node) - declared.get(node.name.removeprefix("check_"), set())
            assert not missing, f"{part.id} {node.name} reads {sorted(missing)}: add them to @uses_learner(...)"


def test_the_backprop_checks_declare_the_learners_classes() -> None:
    part = next(p for p in all_parts() if p.id == "0.5")
    declared = declared_learner_names((part.path / "checks.py").read_text())
    assert declared["relu"] == {"Tensor", "backprop"} and declared["Module"] == {"Parameter", "Tensor"}
