"""Every page of the site renders headlessly (streamlit.testing AppTest) without an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from arena.catalog import Part, all_parts, chapters

MAIN = str(Path(__file__).resolve().parents[1] / "src" / "arena" / "app" / "main.py")
PARTS = all_parts()


def _part_page(part_id: str) -> None:
    from arena.app.views import render_part
    from arena.catalog import get_part

    render_part(get_part(part_id))


def _chapter_page(number: int) -> None:
    from arena.app.views import render_chapter
    from arena.catalog import chapters

    render_chapter(next(c for c in chapters() if c.number == number))


def _search_page() -> None:
    from arena.app.views import render_search

    render_search()


def _no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_home_page_lists_every_part() -> None:
    at = AppTest.from_file(MAIN, default_timeout=60).run()
    _no_exceptions(at)
    text = " ".join(m.value for m in at.markdown)
    assert "How to work through it" in text
    links = " ".join(str(getattr(e, "proto", "")) for e in at.get("page_link"))
    for part in PARTS:
        assert part.title in links, part.title


def test_chapter_pages_render() -> None:
    for chapter in chapters():
        at = AppTest.from_function(_chapter_page, args=(chapter.number,), default_timeout=60).run()
        _no_exceptions(at)
        assert at.title[0].value == chapter.title


@pytest.mark.parametrize("part", PARTS, ids=[p.id for p in PARTS])
def test_part_page_renders_every_block(part: Part) -> None:
    from arena.lesson import load_lesson

    at = AppTest.from_function(_part_page, args=(part.id,), default_timeout=180).run()
    _no_exceptions(at)
    lesson = load_lesson(part)
    assert at.title[0].value.startswith(part.id)
    expanders = [e.label for e in at.expander]
    for name in lesson.exercise_names():
        assert any(f"Solution for `{name}`" in label for label in expanders), name
        assert any(f"Hint 1 for `{name}`" in label for label in expanders), name
    n_figures = len(lesson.directives("figure"))
    assert len(at.get("plotly_chart")) + len(at.get("iframe")) == n_figures  # iframe: offline HTML views
    assert at.code and all(c.proto.wrap_lines for c in at.code)  # a long line wraps instead of hiding its end


def test_part_page_shows_check_status() -> None:
    from arena.checker import Result
    from arena.lesson import load_lesson
    from arena.progress import record_results

    part = PARTS[0]
    name = load_lesson(part).exercise_names()[0]
    record_results(part.id, [Result(name, "failed", "expected 9 rays, got 8", 0.1)])
    at = AppTest.from_function(_part_page, args=(part.id,), default_timeout=180).run()
    _no_exceptions(at)
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "expected 9 rays, got 8" in text
    assert "failed" in text


def test_search_finds_an_exercise() -> None:
    at = AppTest.from_function(_search_page, default_timeout=60).run()
    _no_exceptions(at)
    from arena.lesson import load_lesson

    name = load_lesson(PARTS[0]).exercise_names()[0]
    at.text_input[0].set_value(name).run()
    _no_exceptions(at)
    assert any(name in m.value for m in at.markdown)
