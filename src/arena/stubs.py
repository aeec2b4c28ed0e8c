"""Makes the learner's exercise file (and per-exercise stubs/solutions) from a part's solutions.py."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from arena.catalog import Part

BEGIN, END = "# SOLUTION", "# END SOLUTION"


class StubError(ValueError):
    """solutions.py does not follow the region conventions."""


@dataclass(frozen=True)
class Definition:
    """A top-level statement of solutions.py: its name (if a def/class) and line span (1-based, inclusive)."""

    name: str | None
    start: int
    end: int


def _extend_over_trailing_comments(lines: list[str], end: int) -> int:
    """A def's AST span stops at its last statement; its indented trailing comments (END markers) belong to it."""
    last, i = end, end
    while i < len(lines) and (not lines[i].strip() or (lines[i][:1].isspace() and lines[i].lstrip().startswith("#"))):
        if lines[i].strip():
            last = i + 1
        i += 1
    return last


def _definitions(source: str) -> list[Definition]:
    tree = ast.parse(source)
    lines = source.splitlines()
    found = []
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        name = node.name if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        found.append(Definition(name, start, _extend_over_trailing_comments(lines, node.end_lineno or node.lineno)))
    return found


def _replace_regions(lines: list[str], label: str) -> list[str]:
    """Replace every SOLUTION region with a NotImplementedError at the region's indentation."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise StubError(f"line {number}: nested '{BEGIN}'")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f'{indent}raise NotImplementedError("{label}: replace this line with your code")')
        elif stripped == END:
            if not inside:
                raise StubError(f"line {number}: '{END}' without '{BEGIN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise StubError(f"'{BEGIN}' never closed with '{END}'")
    return out


def _strip_markers(lines: list[str]) -> list[str]:
    return [ln for ln in lines if ln.strip() not in (BEGIN, END)]


class SolutionsFile:
    """The reference solutions of one part, read as text (never executed here)."""

    def __init__(self, path: Path):
        self.path = path
        self.source = path.read_text(encoding="utf-8")
        self.lines = self.source.splitlines()
        self.definitions = _definitions(self.source)
        first = ast.parse(self.source).body[:1]
        is_docstring = bool(first) and isinstance(first[0], ast.Expr) and isinstance(first[0].value, ast.Constant)
        self.docstring: Definition | None = self.definitions[0] if is_docstring else None

    def definition(self, name: str) -> Definition:
        for d in self.definitions:
            if d.name == name:
                return d
        raise KeyError(f"{self.path.name} has no top-level definition named {name!r}")

    def _span(self, name: str) -> list[str]:
        d = self.definition(name)
        return self.lines[d.start - 1 : d.end]

    def has_region(self, name: str) -> bool:
        return any(ln.strip() == BEGIN for ln in self._span(name))

    def solution(self, name: str) -> str:
        """The reference code of one definition, markers removed."""
        return "\n".join(_strip_markers(self._span(name)))

    def stub(self, name: str) -> str:
        """The learner's starting code for one definition."""
        return "\n".join(_replace_regions(self._span(name), name))

    def preamble(self, exclude: set[str]) -> str:
        """Every top-level statement except the module docstring and the named definitions,
        laid out as in the file (imports grouped, definitions separated by blank lines)."""
        text = ""
        previous: Definition | None = None
        for d in self.definitions:
            if d.name in exclude or d is self.docstring:
                continue
            chunk = "\n".join(_strip_markers(self.lines[d.start - 1 : d.end]))
            adjacent = previous is not None and d.start == previous.end + 1
            text += ("" if not text else "\n" if adjacent else "\n\n") + chunk
            previous = d
        return text

    def stub_module(self, header: str) -> str:
        """The whole exercise file: solutions.py with regions replaced and the docstring swapped."""
        out: list[str] = []
        cursor = 1  # the next line to copy
        for d in self.definitions:
            out.extend(self.lines[cursor - 1 : d.start - 1])  # blank lines and comments between statements
            if d is not self.docstring:
                out.extend(_replace_regions(self.lines[d.start - 1 : d.end], d.name or "exercise"))
            cursor = d.end + 1
        out.extend(self.lines[cursor - 1 :])
        return header.rstrip() + "\n" + "\n".join(out).lstrip("\n") + "\n"


def stub_header(part: Part) -> str:
    return (
        f'"""Your exercises for part {part.id}: {part.title}.\n\n'
        "Replace each `raise NotImplementedError(...)` with your own code, then check it:\n\n"
        f"    arena check {part.id}              # every exercise\n"
        f"    arena check {part.id} --only NAME  # one exercise\n"
        f"    arena watch {part.id}              # re-check on every save\n\n"
        f"Read the lesson with `arena serve`; stuck? `arena hint {part.id} NAME`.\n"
        '"""\n'
    )


SMOKE_IMPORT = "from arena import smoke  # noqa: F401 - the lesson's snippets use smoke() for shorter runs"


def with_smoke_import(text: str) -> str:
    """Import `smoke` (after the docstring and any __future__ import) so that the lesson's runnable
    snippets run in the exercise file as they do in the notebook."""
    tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "arena" and any(a.name == "smoke" for a in node.names):
            return text
    after = 0
    for i, node in enumerate(tree.body):
        docstring = i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if docstring or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            after = node.end_lineno or node.lineno
        else:
            break
    lines = text.splitlines()
    lines.insert(after, SMOKE_IMPORT)
    return "\n".join(lines) + "\n"


def make_stub_module(part: Part) -> str:
    """Text of the learner's exercise file for a part."""
    return with_smoke_import(SolutionsFile(part.solutions_path).stub_module(stub_header(part)))
