"""Entry point of the course site: `arena serve` runs `streamlit run` on this file."""

from __future__ import annotations

import streamlit as st

from arena.app import views
from arena.catalog import chapters


def build_navigation():
    # The default page lives at "/" (Streamlit gives a default page no other route, so no url_path).
    home = st.Page(views.render_home, title="Home", icon="🏠", default=True)
    search = st.Page(views.render_search, title="Search", icon="🔎", url_path="search")
    sections: dict[str, list] = {"Course": [home, search]}
    part_pages = {}
    for chapter in chapters():
        pages = [st.Page(lambda c=chapter: views.render_chapter(c), title="Overview", icon="📚",
                         url_path=views.chapter_path(chapter))]
        for part in chapter.parts:
            page = st.Page(lambda p=part: views.render_part(p), title=f"{part.id} {part.title}",
                           icon="📘", url_path=views.page_path(part))
            part_pages[part.id] = page
            pages.append(page)
        sections[chapter.title] = pages
    st.session_state["_arena_pages"] = part_pages
    return st.navigation(sections)


STYLE = """
<style>
section[data-testid="stSidebar"] ul { padding-left: 0.8rem; margin-bottom: 0; }
section[data-testid="stSidebar"] li { font-size: 0.9rem; margin: 0; list-style: none; }
section[data-testid="stSidebar"] a { text-decoration: none; }
</style>
"""

st.set_page_config(page_title="ML engineering & interpretability course", page_icon="🧠", layout="wide")
st.markdown(STYLE, unsafe_allow_html=True)
build_navigation().run()
