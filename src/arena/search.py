"""Word search over every lesson paragraph and exercise in the course."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from arena.catalog import Part, all_parts
from arena.lesson import Code, Directive, Heading, Markdown, load_lesson

_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class Entry:
    part: Part
    anchor: str
    section: str
    kind: str  # "paragraph", "exercise", "hint", "code"
    title: str
    text: str


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def entries_for(part: Part) -> list[Entry]:
    found: list[Entry] = []
    anchor, section = "", part.title
    for block in load_lesson(part).blocks:
        if isinstance(block, Heading):
            anchor, section = block.anchor, block.text
            found.append(Entry(part, anchor, section, "heading", block.text, block.text))
        elif isinstance(block, Markdown):
            found += [Entry(part, anchor, section, "paragraph", section, p) for p in _paragraphs(block.text)]
        elif isinstance(block, Code):
            found.append(Entry(part, anchor, section, "code", section, block.source))
        elif isinstance(block, Directive) and block.kind in ("exercise", "hint"):
            title = f"Exercise: {block.name}" if block.kind == "exercise" else f"Hint for {block.name}"
            found.append(Entry(part, anchor, section, block.kind, title, f"{block.name} {block.body}"))
    return found


@cache
def _index() -> tuple[Entry, ...]:
    return tuple(e for part in all_parts() for e in entries_for(part))


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def search(query: str, limit: int = 30) -> list[Entry]:
    """Entries containing every word of the query (prefix match), best first."""
    terms = words(query)
    if not terms:
        return []
    scored = []
    for entry in _index():
        tokens = words(entry.text + " " + entry.title)
        hits = [sum(t.startswith(term) for t in tokens) for term in terms]
        if all(hits):
            bonus = 5 if entry.kind == "exercise" else 0
            scored.append((sum(hits) + bonus, entry))
    scored.sort(key=lambda pair: -pair[0])
    return [entry for _, entry in scored[:limit]]


_MARKUP = [(re.compile(r"```[\w ]*"), " "), (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),
           (re.compile(r"[`*$#>|]|\\\\?"), ""), (re.compile(r"^:::.*$", re.MULTILINE), "")]


def plain(text: str) -> str:
    """Lesson Markdown with its markup removed, so a cut-out piece cannot render half a formula or link."""
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return text


def snippet(text: str, query: str, width: int = 220) -> str:
    """The plain-text part of `text` around the first query word, for a results list."""
    flat = " ".join(plain(text).split())
    terms = words(query)
    lower = flat.lower()
    positions = [lower.find(t) for t in terms if lower.find(t) >= 0]
    start = max(0, min(positions) - width // 3) if positions else 0
    piece = flat[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
