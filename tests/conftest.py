"""Shared fixtures: every test gets its own progress database; parts are parametrised from the catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("ARENA_SMOKE", "1")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("arena-home")
    monkeypatch.setenv("ARENA_HOME", str(home))
    return home
