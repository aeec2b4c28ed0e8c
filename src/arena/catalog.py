"""Finds the course's chapters and parts on disk and gives them ids ("0.1") and metadata."""

from __future__ import annotations

import importlib
import os
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

COURSE_DIR = Path(__file__).resolve().parents[2] / "course"
_CHAPTER_RE = re.compile(r"^chapter(\d+)_(\w+)$")
_PART_RE = re.compile(r"^part(\d+)_(\w+)$")
_FRONT_MATTER_RE = re.compile(r"\A\+\+\+\n(.*?)\n\+\+\+\n", re.DOTALL)


class UnknownPart(LookupError):
    """Raised when a part id does not name an existing part."""


def split_front_matter(text: str) -> tuple[dict, str]:
    """Split `+++`-fenced TOML front matter from the Markdown after it."""
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    return tomllib.loads(match.group(1)), text[match.end():]


@dataclass(frozen=True)
class Part:
    chapter: Chapter
    number: int
    slug: str
    path: Path

    @property
    def id(self) -> str:
        return f"{self.chapter.number}.{self.number}"

    @property
    def dirname(self) -> str:
        return self.path.name

    @property
    def module_name(self) -> str:
        return f"course.{self.chapter.path.name}.{self.path.name}"

    @property
    def meta(self) -> dict:
        return split_front_matter(self.lesson_path.read_text(encoding="utf-8"))[0]

    @property
    def title(self) -> str:
        return self.meta.get("title", self.slug.replace("_", " ").title())

    @property
    def summary(self) -> str:
        return self.meta.get("summary", "")

    @property
    def lesson_path(self) -> Path:
        return self.path / "lesson.md"

    @property
    def solutions_path(self) -> Path:
        return self.path / "solutions.py"

    @property
    def workspace_relpath(self) -> Path:
        """Where `arena start` puts the learner's file, relative to their working directory."""
        return Path("workspace") / self.chapter.path.name / self.path.name / "exercises.py"

    def module(self, name: str) -> ModuleType | None:
        """Import one of the part's modules (solutions, checks, variants, figures, bench), or None."""
        if not (self.path / f"{name}.py").exists():
            return None
        return importlib.import_module(f"{self.module_name}.{name}")


@dataclass(frozen=True)
class Chapter:
    number: int
    slug: str
    path: Path

    @property
    def meta_and_text(self) -> tuple[dict, str]:
        page = self.path / "chapter.md"
        return split_front_matter(page.read_text(encoding="utf-8")) if page.exists() else ({}, "")

    @property
    def title(self) -> str:
        return self.meta_and_text[0].get("title", self.slug.replace("_", " ").title())

    @property
    def parts(self) -> list[Part]:
        found = []
        for child in self.path.iterdir():
            match = _PART_RE.match(child.name)
            if match and (child / "lesson.md").exists() and (show_drafts() or not is_draft(child)):
                found.append(Part(self, int(match.group(1)), match.group(2), child))
        return sorted(found, key=lambda p: p.number)


def is_draft(part_dir: Path) -> bool:
    """A part whose lesson front matter says `draft = true` is work in progress: hidden from learners
    and from the generic tests until it is finished (ARENA_DRAFTS=1 shows it to its authors)."""
    lesson = part_dir / "lesson.md"
    if not lesson.exists():
        return False
    head = lesson.read_text(encoding="utf-8")[:2000]
    return bool(split_front_matter(head)[0].get("draft", False)) if head.startswith("+++") else False


def show_drafts() -> bool:
    return os.environ.get("ARENA_DRAFTS", "") not in ("", "0")


def draft_part_dirs(course_dir: Path = COURSE_DIR) -> list[Path]:
    return [p for p in sorted(course_dir.glob("chapter*/part*")) if p.is_dir() and is_draft(p)]


@cache
def chapters(course_dir: Path = COURSE_DIR) -> list[Chapter]:
    """All chapters that have at least one part, in order."""
    found = []
    for child in course_dir.iterdir():
        match = _CHAPTER_RE.match(child.name)
        if match and child.is_dir():
            chapter = Chapter(int(match.group(1)), match.group(2), child)
            if chapter.parts:
                found.append(chapter)
    return sorted(found, key=lambda c: c.number)


def all_parts() -> list[Part]:
    return [part for chapter in chapters() for part in chapter.parts]


def get_part(part_id: str) -> Part:
    """The part with this id ("0.1"); raises UnknownPart listing the ids that exist."""
    for part in all_parts():
        if part.id == part_id.strip():
            return part
    known = ", ".join(p.id for p in all_parts()) or "none"
    raise UnknownPart(f"There is no part {part_id!r}. Parts available: {known}.")
