"""Shared by every test (tests/ and the parts' own tests): offline, smoke mode, a private progress database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("ARENA_SMOKE", "1")
os.environ.setdefault("ARENA_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a hub name fails at once instead of after 20 s of retries
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


from arena.catalog import draft_part_dirs, show_drafts  # noqa: E402

# Draft parts (lesson front matter `draft = true`) are not collected unless ARENA_DRAFTS=1.
collect_ignore = [] if show_drafts() else [str(p) for p in draft_part_dirs()]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("arena-home")
    monkeypatch.setenv("ARENA_HOME", str(home))
    return home
