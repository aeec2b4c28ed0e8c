"""Parses a part's lesson.md into a list of blocks the site, CLI and notebook builder share."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from arena.catalog import Part, split_front_matter

DIRECTIVE_KINDS = ("exercise", "hint", "solution", "figure", "code")
_DIRECTIVE_OPEN = re.compile(r"^:::\s*(\w+)\s+([\w.]+)\s*$")
_FENCE = re.compile(r"^(```+|~~~+)\s*(.*)$")


class LessonError(ValueError):
    """A lesson file that does not follow the format in docs/AUTHORING.md."""


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class Markdown:
    text: str


@dataclass(frozen=True)
class Code:
    source: str
    language: str
    runnable: bool


@dataclass(frozen=True)
class Directive:
    kind: str
    name: str
    body: str
    attrs: dict = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class ExerciseInfo:
    name: str
    difficulty: int
    importance: int
    time: str
    body: str


Block = Heading | Markdown | Code | Directive


def slugify(text: str) -> str:
    words = re.sub(r"[^\w\s-]", "", text.lower()).split()
    return "-".join(words) or "section"


def _parse_directive_body(kind: str, name: str, lines: list[str], line_no: int) -> Directive:
    body_lines, attrs = lines, {}
    if kind == "exercise":
        if "---" not in [ln.strip() for ln in lines]:
            raise LessonError(f"line {line_no}: exercise {name!r} needs TOML attributes and a '---' line")
        split = [ln.strip() for ln in lines].index("---")
        try:
            attrs = tomllib.loads("\n".join(lines[:split]))
        except tomllib.TOMLDecodeError as err:
            raise LessonError(f"line {line_no}: exercise {name!r} attributes: {err}") from err
        missing = {"difficulty", "importance", "time"} - attrs.keys()
        if missing:
            raise LessonError(f"line {line_no}: exercise {name!r} lacks {sorted(missing)}")
        body_lines = lines[split + 1:]
    return Directive(kind, name, "\n".join(body_lines).strip(), attrs, line_no)


def parse_lesson_text(text: str) -> list[Block]:
    """Split Markdown with directives into blocks (see docs/AUTHORING.md)."""
    blocks: list[Block] = []
    anchors: set[str] = set()
    prose: list[str] = []

    def flush_prose() -> None:
        joined = "\n".join(prose).strip()
        if joined:
            blocks.append(Markdown(joined))
        prose.clear()

    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        directive = _DIRECTIVE_OPEN.match(line)
        if fence:
            flush_prose()
            marker, info = fence.group(1), fence.group(2).split()
            end = i + 1
            while end < len(lines) and not lines[end].startswith(marker):
                end += 1
            if end == len(lines):
                raise LessonError(f"line {i + 1}: code fence never closed")
            language = info[0] if info else ""
            runnable = language == "python" and "norun" not in info[1:]
            blocks.append(Code("\n".join(lines[i + 1:end]), language, runnable))
            i = end + 1
        elif directive:
            flush_prose()
            kind, name = directive.groups()
            if kind not in DIRECTIVE_KINDS:
                raise LessonError(f"line {i + 1}: unknown directive {kind!r} (known: {DIRECTIVE_KINDS})")
            end = i + 1
            while end < len(lines) and lines[end].strip() != ":::":
                end += 1
            if end == len(lines):
                raise LessonError(f"line {i + 1}: directive '{kind} {name}' never closed with ':::'")
            blocks.append(_parse_directive_body(kind, name, lines[i + 1:end], i + 1))
            i = end + 1
        elif re.match(r"^#{1,4} ", line):
            flush_prose()
            level = len(line) - len(line.lstrip("#"))
            title = line[level:].strip()
            anchor, n = slugify(title), 2
            while anchor in anchors:
                anchor, n = f"{slugify(title)}-{n}", n + 1
            anchors.add(anchor)
            blocks.append(Heading(level, title, anchor))
            i += 1
        else:
            prose.append(line)
            i += 1
    flush_prose()
    return blocks


@dataclass(frozen=True)
class Lesson:
    part: Part
    meta: dict
    blocks: tuple[Block, ...]

    def directives(self, kind: str) -> list[Directive]:
        return [b for b in self.blocks if isinstance(b, Directive) and b.kind == kind]

    def exercises(self) -> list[ExerciseInfo]:
        return [ExerciseInfo(d.name, int(d.attrs["difficulty"]), int(d.attrs["importance"]), str(d.attrs["time"]),
                             d.body) for d in self.directives("exercise")]

    def exercise_names(self) -> list[str]:
        return [e.name for e in self.exercises()]

    def exercise(self, name: str) -> ExerciseInfo:
        for info in self.exercises():
            if info.name == name:
                return info
        raise KeyError(f"Part {self.part.id} has no exercise {name!r}. "
                       f"Exercises: {', '.join(self.exercise_names())}")

    def hints(self, name: str) -> list[str]:
        return [d.body for d in self.directives("hint") if d.name == name]

    def solution_note(self, name: str) -> str:
        return "\n\n".join(d.body for d in self.directives("solution") if d.name == name)

    def headings(self, max_level: int = 2) -> list[Heading]:
        return [b for b in self.blocks if isinstance(b, Heading) and b.level <= max_level]


@cache
def _load_cached(path: Path, mtime: float, part: Part) -> Lesson:
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    return Lesson(part, meta, tuple(parse_lesson_text(body)))


def load_lesson(part: Part) -> Lesson:
    """The parsed lesson of a part (re-parsed when the file changes)."""
    path = part.lesson_path
    return _load_cached(path, path.stat().st_mtime, part)
