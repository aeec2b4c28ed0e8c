"""Lesson + exercise stubs (or solutions) -> a Jupyter notebook that runs top to bottom."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from arena.catalog import Part
from arena.lesson import Code, Directive, Heading, Lesson, Markdown, load_lesson
from arena.stubs import SolutionsFile


def exercise_badge(attrs: dict) -> str:
    return (f"Difficulty {'🔴' * int(attrs['difficulty'])}{'⚪' * (5 - int(attrs['difficulty']))} · "
            f"Importance {'🔵' * int(attrs['importance'])}{'⚪' * (5 - int(attrs['importance']))} · "
            f"⏱ {attrs['time']}")


def _details(summary: str, body: str) -> str:
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"


def _intro(part: Part, solutions: bool) -> str:
    kind = "with the reference solutions filled in" if solutions else "with exercise stubs to fill in"
    return (f"# {part.id} {part.title}\n\n{part.summary}\n\n"
            f"This notebook is generated from the course ({kind}). Replace each "
            "`raise NotImplementedError(...)` with your code and run the check cell below it: "
            f'`check("{part.id}", function_or_class)` tells you precisely what is wrong.')


def _setup_code(source: SolutionsFile, exclude: set[str]) -> str:
    """The part's imports and helpers, with the course's `check` imported after any __future__ import."""
    lines = source.preamble(exclude).splitlines()
    future = [ln for ln in lines if ln.startswith("from __future__ ")]
    rest = [ln for ln in lines if not ln.startswith("from __future__ ")]
    return "\n".join(future + ["from arena import check, smoke"] + rest).strip() + "\n"


def build_notebook(part: Part, solutions: bool = False) -> nbformat.NotebookNode:
    lesson: Lesson = load_lesson(part)
    source = SolutionsFile(part.solutions_path)
    shown_by_name = set(lesson.exercise_names()) | {d.name for d in lesson.directives("code")}
    cells = [new_markdown_cell(_intro(part, solutions)), new_code_cell(_setup_code(source, shown_by_name))]
    prose: list[str] = []

    def flush() -> None:
        if prose:
            cells.append(new_markdown_cell("\n\n".join(prose)))
            prose.clear()

    for block in lesson.blocks:
        if isinstance(block, Heading):
            prose.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Markdown):
            prose.append(block.text)
        elif isinstance(block, Code) and not block.runnable:
            prose.append(f"```{block.language}\n{block.source}\n```")
        elif isinstance(block, Code):
            flush()
            cells.append(new_code_cell(block.source))
        elif isinstance(block, Directive):
            _add_directive(block, part, source, solutions, cells, prose, flush)
    flush()
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _add_directive(block: Directive, part: Part, source: SolutionsFile, solutions: bool,
                   cells: list, prose: list[str], flush) -> None:
    if block.kind == "exercise":
        prose.append(f"#### ✏️ Exercise: `{block.name}`\n\n{exercise_badge(block.attrs)}\n\n{block.body}")
        flush()
        code = source.solution(block.name) if solutions else source.stub(block.name)
        cells.append(new_code_cell(code))
        cells.append(new_code_cell(f'check("{part.id}", {block.name})'))
    elif block.kind == "hint":
        prose.append(_details("💡 Hint", block.body))
    elif block.kind == "solution":
        if solutions:
            if block.body:
                prose.append(block.body)
        else:
            code = f"```python\n{source.solution(block.name)}\n```"
            prose.append(_details("🔑 Solution", f"{code}\n\n{block.body}"))
    elif block.kind == "figure":
        flush()
        cells.append(new_code_cell(f"from {part.module_name} import figures\n\nfigures.{block.name}()"))
        if block.body:
            prose.append(f"*{block.body}*")
    elif block.kind == "code":
        flush()
        cells.append(new_code_cell(source.solution(block.name)))
        if block.body:
            prose.append(block.body)


def write_notebook(part: Part, path, solutions: bool = False) -> None:
    nbformat.write(build_notebook(part, solutions), str(path))
