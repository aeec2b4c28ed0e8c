"""Unit tests of the engine pieces that do not need a part: lesson parsing, stubs, checking helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from arena.checker import ERROR, FAILED, NOT_IMPLEMENTED, classify
from arena.checking import CheckFailure, expect_close, expect_equal
from arena.lesson import Code, Directive, Heading, LessonError, Markdown, parse_lesson_text
from arena.search import snippet, words
from arena.stubs import SolutionsFile, StubError

LESSON = """
# 1️⃣ First section

Some *prose*.

```python
x = 1
```

```python norun
this is not run
```

::: exercise add
difficulty = 2
importance = 3
time = "5 minutes"
---
Add two numbers.
:::

::: hint add
Use `+`.
:::

## A subsection
# 1️⃣ First section
"""


def test_parse_lesson_blocks_in_order() -> None:
    blocks = parse_lesson_text(LESSON)
    kinds = [type(b).__name__ if not isinstance(b, Directive) else b.kind for b in blocks]
    assert kinds == ["Heading", "Markdown", "Code", "Code", "exercise", "hint", "Heading", "Heading"]
    heading, _, runnable, shown, exercise, *_ = blocks
    assert isinstance(heading, Heading) and heading.anchor == "1-first-section"
    assert isinstance(runnable, Code) and runnable.runnable and not shown.runnable
    assert exercise.attrs == {"difficulty": 2, "importance": 3, "time": "5 minutes"}
    assert exercise.body == "Add two numbers."
    assert blocks[-1].anchor == "1-first-section-2"  # anchors stay unique
    assert isinstance(blocks[1], Markdown)


@pytest.mark.parametrize(("text", "message"), [
    ("::: exercise x\ndifficulty = 1\n---\nbody\n:::", "lacks"),
    ("::: exercise x\nbody\n:::", "'---'"),
    ("::: video x\n:::", "unknown directive"),
    ("::: hint x\nnever closed", "never closed"),
    ("```python\nopen fence", "never closed"),
])
def test_malformed_lessons_are_rejected_with_a_line(text: str, message: str) -> None:
    with pytest.raises(LessonError, match=message):
        parse_lesson_text(text)


SOLUTIONS = '''"""Module docstring."""
import math


def area(r: float) -> float:
    """Area of a circle."""
    # SOLUTION
    return math.pi * r**2
    # END SOLUTION


class Counter:
    def __init__(self):
        # SOLUTION
        self.n = 0
        # END SOLUTION

    def step(self) -> int:
        # SOLUTION
        self.n += 1
        return self.n
        # END SOLUTION
'''


def test_stub_replaces_regions_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "solutions.py"
    path.write_text(SOLUTIONS)
    sf = SolutionsFile(path)
    assert "math.pi" in sf.solution("area") and "# SOLUTION" not in sf.solution("area")
    stub = sf.stub("area")
    assert '"""Area of a circle."""' in stub and "math.pi" not in stub
    assert 'raise NotImplementedError("area: replace this line with your code")' in stub
    module = sf.stub_module('"""Header."""\n')
    assert module.startswith('"""Header."""') and "Module docstring" not in module
    assert module.count("NotImplementedError") == 3
    assert 'raise NotImplementedError("Counter: ' in module
    namespace: dict = {}
    exec(compile(module, "stub", "exec"), namespace)
    with pytest.raises(NotImplementedError):
        namespace["area"](1.0)
    assert sf.preamble(exclude={"area", "Counter"}).strip() == "import math"


def test_unbalanced_regions_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "solutions.py"
    path.write_text("def f():\n    # SOLUTION\n    return 1\n")
    with pytest.raises(StubError, match="never closed"):
        SolutionsFile(path).stub("f")


def test_expect_close_names_first_mismatch() -> None:
    want = torch.zeros(2, 3)
    got = want.clone()
    got[1, 2] = 5.0
    with pytest.raises(CheckFailure, match=r"index \[1, 2\]: expected 0, got 5 \(1 of 6"):
        expect_close(got, want, "f(x)")
    with pytest.raises(CheckFailure, match="wrong shape"):
        expect_close(torch.zeros(3, 2), want, "f(x)")
    with pytest.raises(CheckFailure, match="should return a Tensor"):
        expect_close([0.0], want, "f(x)")
    expect_close(torch.tensor([float("inf"), 1.0]), torch.tensor([float("inf"), 1.0]), "inf ok")
    with pytest.raises(CheckFailure):
        expect_close(torch.tensor([0.0]), torch.tensor([float("inf")]), "0 is not inf")
    expect_close(np.ones(3), np.ones(3), "arrays")


def test_expect_equal_accepts_bool_tensors() -> None:
    expect_equal(torch.tensor(True), True, "hit")
    expect_equal(np.array([True]), True, "hit")  # numpy arrays too (ndarray.size is not a method)
    expect_equal(np.bool_(True), True, "hit")
    with pytest.raises(CheckFailure):
        expect_equal(torch.tensor([True, True]), True, "two answers are not one bool")
    with pytest.raises(CheckFailure, match="expected True, got False"):
        expect_equal(False, True, "hit")


def _raise_from_learner(files_code: str, exc: Exception) -> tuple[str, str]:
    namespace: dict = {}
    exec(compile(files_code, "/learner/exercises.py", "exec"), namespace)
    try:
        namespace["f"]()
    except Exception as err:  # noqa: BLE001
        return classify("f", err, {"/learner/exercises.py"})
    raise AssertionError("did not raise")


def test_classify_learner_errors() -> None:
    status, message = _raise_from_learner("def f():\n    raise NotImplementedError", NotImplementedError())
    assert status == NOT_IMPLEMENTED
    status, message = _raise_from_learner("def f():\n    return 1 / 0", ZeroDivisionError())
    assert status == ERROR and "ZeroDivisionError" in message and "line 2" in message
    status, message = _raise_from_learner("def f():\n    assert False, 'mine'", AssertionError())
    assert status == ERROR  # the learner's own assert is their error, not a failed check
    assert classify("f", CheckFailure("wrong"), set()) == (FAILED, "wrong")


def test_search_helpers() -> None:
    assert words("Ray-tracing, linalg.solve!") == ["ray", "tracing", "linalg", "solve"]
    assert "solve" in snippet("a " * 300 + "linalg.solve here", "solve")


def test_classify_names_the_earlier_exercise_an_error_comes_from() -> None:
    code = "def g():\n    raise NotImplementedError\n\ndef h():\n    return 1 / 0\n\ndef f():\n    return g()\n\ndef k():\n    return h()\n"
    namespace: dict = {}
    exec(compile(code, "/learner/exercises.py", "exec"), namespace)
    files, exercises = {"/learner/exercises.py"}, {"f", "g", "h", "k"}
    for name, expected_status, other in (("f", NOT_IMPLEMENTED, "g"), ("k", ERROR, "h")):
        try:
            namespace[name]()
        except Exception as err:  # noqa: BLE001
            status, message = classify(name, err, files, exercises)
        assert status == expected_status and (f"{other}," in message or f"{other} first" in message), message
    try:
        namespace["g"]()
    except NotImplementedError as err:
        assert classify("g", err, files, exercises)[1] == "g is not implemented yet (it still raises NotImplementedError)."


def test_stub_imports_smoke_so_lesson_snippets_run_in_the_exercise_file() -> None:
    import ast

    from arena.catalog import all_parts
    from arena.stubs import make_stub_module

    for part in all_parts():
        text = make_stub_module(part)
        compile(text, "exercises.py", "exec")  # a __future__ import stays first
        imports = [n for n in ast.parse(text).body if isinstance(n, ast.ImportFrom) and n.module == "arena"]
        assert any(a.name == "smoke" for n in imports for a in n.names), part.id
