"""What each page of the site draws. Pure functions of the catalog, so pages are testable one by one."""

from __future__ import annotations

import re

import streamlit as st

from arena.catalog import Chapter, Part, chapters, get_part
from arena.lesson import Code, Directive, Heading, Lesson, Markdown, load_lesson
from arena.plotting import HTMLFigure
from arena.report import ICONS, LABELS

STATUS_BADGE = {"passed": ":green-badge[✅ passed]", "failed": ":red-badge[❌ failed]",
                "error": ":violet-badge[💥 error]", "not_implemented": ":gray-badge[⬜ not implemented]"}


def page_path(part: Part) -> str:
    return f"part-{part.chapter.number}-{part.number}-{part.slug.replace('_', '-')}"


def chapter_path(chapter: Chapter) -> str:
    return f"chapter-{chapter.number}"


@st.cache_resource(show_spinner="Computing figure from the reference solution…", ttl=600)
def cached_figure(part_id: str, name: str):
    figures = get_part(part_id).module("figures")
    return getattr(figures, name)()


@st.cache_data
def cached_solution(part_id: str, name: str) -> str:
    from arena.stubs import SolutionsFile

    return SolutionsFile(get_part(part_id).solutions_path).solution(name)


def _latest(part: Part) -> dict:
    from arena.progress import latest

    try:
        return latest(part.id)
    except Exception:  # noqa: BLE001 - a broken progress DB must not break reading the course
        return {}


def progress_line(part: Part) -> str:
    from arena.progress import passed_count

    names = load_lesson(part).exercise_names()
    try:
        passed = passed_count(part.id, names)
    except Exception:  # noqa: BLE001 - a broken progress DB must not break reading the course
        passed = 0
    return f"{passed}/{len(names)} exercises passed"


def render_home() -> None:
    st.title("🧠 ML engineering & interpretability, hands-on")
    st.markdown(
        "A course you work through by **building things**: batched tensor code, convolutions from "
        "strides, a ResNet, optimizers, an autograd engine, then transformers and the tools to take them "
        "apart. Every exercise is checked automatically and tells you precisely what is wrong.\n\n"
        "**Who it is for.** Programmers comfortable with Python and basic linear algebra who want to "
        "understand deep learning from the inside. No GPU and no internet needed: everything runs on a "
        "laptop CPU (a GPU is used when there is one).\n\n"
        "**How to work through it.**\n"
        "1. Read a part here, section by section.\n"
        "2. In a terminal, `arena start 0.1` writes your exercise file "
        "(`workspace/chapter0_fundamentals/part1_ray_tracing/exercises.py`); implement each function there.\n"
        "3. Run `arena check 0.1` (or leave `arena watch 0.1` running): each exercise shows ✅, ❌ with the "
        "reason, or ⬜ not implemented. Your status appears next to each exercise on these pages.\n"
        "4. Stuck? Open the hints under each exercise (or `arena hint 0.1 NAME`); the solution is there too.\n\n"
        "Prefer notebooks? `arena notebook 0.1` writes one with the lesson and exercise cells; "
        "`check(\"0.1\", your_function)` checks a function in one call."
    )
    st.header("Chapters and parts")
    for chapter in chapters():
        st.subheader(chapter.title)
        for part in chapter.parts:
            link_to_part(part, f"{part.id} {part.title}")
            st.caption(f"{part.summary} · {progress_line(part)}")


def link_to_part(part: Part, label: str, anchor: str = "") -> None:
    """A link to a part's page: a navigation link inside the site, a plain link when rendered alone."""
    page = st.session_state.get("_arena_pages", {}).get(part.id)
    if page is not None and not anchor:
        st.page_link(page, label=label, icon="📘")
    else:
        st.markdown(f"📘 [{label}](/{page_path(part)}{'#' + anchor if anchor else ''})")


def render_chapter(chapter: Chapter) -> None:
    text = chapter.meta_and_text[1]
    st.title(chapter.title)
    st.markdown(text)
    for part in chapter.parts:
        with st.container(border=True):
            link_to_part(part, f"**{part.id} {part.title}**")
            st.markdown(part.summary)
            st.caption(progress_line(part))


def _sidebar_toc(lesson: Lesson) -> None:
    with st.sidebar:
        st.markdown(f"**{lesson.part.id} {lesson.part.title}** · {progress_line(lesson.part)}")
        toc = [f"{'    ' * (h.level - 1)}- [{h.text}](#{h.anchor})" for h in lesson.headings(2)]
        st.markdown("\n".join(toc))


_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)


def render_markdown(text: str) -> None:
    """Markdown with display maths ($$…$$, possibly over several lines) drawn by st.latex."""
    pieces = _DISPLAY_MATH.split(text)
    for i, piece in enumerate(pieces):
        if i % 2:
            st.latex(piece.strip())
        elif piece.strip():
            st.markdown(piece)


def render_exercise(part: Part, block: Directive, states: dict) -> None:
    a = block.attrs
    state = states.get(block.name)
    with st.container(border=True):
        st.markdown(f"#### ✏️ Exercise: `{block.name}`")
        status = STATUS_BADGE[state.status] if state else ":gray-badge[not checked yet]"
        st.markdown(
            f":orange-badge[Difficulty {'●' * int(a['difficulty'])}{'○' * (5 - int(a['difficulty']))}] "
            f":blue-badge[Importance {'●' * int(a['importance'])}{'○' * (5 - int(a['importance']))}] "
            f":gray-badge[⏱ {a['time']}] {status}"
        )
        if state and state.status in ("failed", "error"):
            st.caption(f"Last check: {ICONS[state.status]} {LABELS[state.status]} — {state.message}")
        render_markdown(block.body)
        st.caption(f"Check it: `arena check {part.id} --only {block.name}`")


def render_block(part: Part, block, states: dict, hint_counts: dict) -> None:
    if isinstance(block, Heading):
        if block.level == 1:
            st.header(block.text, anchor=block.anchor, divider="gray")
        elif block.level == 2:
            st.subheader(block.text, anchor=block.anchor)
        else:
            st.markdown(f"##### {block.text}")
    elif isinstance(block, Markdown):
        render_markdown(block.text)
    elif isinstance(block, Code):
        st.code(block.source, language=block.language or None, wrap_lines=True)
    elif block.kind == "exercise":
        render_exercise(part, block, states)
    elif block.kind == "hint":
        hint_counts[block.name] = hint_counts.get(block.name, 0) + 1
        with st.expander(f"💡 Hint {hint_counts[block.name]} for `{block.name}`"):
            st.markdown(block.body)
    elif block.kind == "solution":
        with st.expander(f"🔑 Solution for `{block.name}`"):
            st.code(cached_solution(part.id, block.name), language="python", wrap_lines=True)
            if block.body:
                st.markdown(block.body)
    elif block.kind == "figure":
        figure = cached_figure(part.id, block.name)
        if isinstance(figure, HTMLFigure):
            import streamlit.components.v1 as components

            components.html(figure.html, height=figure.height, scrolling=True)
        else:
            st.plotly_chart(figure, key=f"fig-{part.id}-{block.name}")
        if block.body:
            st.caption(block.body)
    elif block.kind == "code":
        st.code(cached_solution(part.id, block.name), language="python", wrap_lines=True)
        if block.body:
            st.caption(block.body)


def render_part(part: Part) -> None:
    lesson = load_lesson(part)
    _sidebar_toc(lesson)
    st.title(f"{part.id} {part.title}")
    if part.summary:
        st.markdown(f"*{part.summary}*")
    states = _latest(part)
    hint_counts: dict[str, int] = {}
    for block in lesson.blocks:
        render_block(part, block, states, hint_counts)


def render_search() -> None:
    from arena.search import search, snippet

    st.title("🔎 Search the course")
    query = st.text_input("Words to find", placeholder="e.g. broadcasting, linalg.solve, as_strided")
    if not query:
        st.caption("Finds lesson paragraphs, exercises, hints and code containing all the words you type.")
        return
    results = search(query)
    st.caption(f"{len(results)} result(s) for “{query}”")
    for entry in results:
        with st.container(border=True):
            link_to_part(entry.part, f"{entry.part.id} {entry.part.title} › {entry.title}", entry.anchor)
            st.caption(entry.kind)
            st.text(snippet(entry.text, query))
