"""The course engine: finds parts, builds exercise files, checks learners' code, tracks progress."""

from __future__ import annotations

import os


def smoke() -> bool:
    """True when long-running lesson code should use a short setting (set by the test suite)."""
    return os.environ.get("ARENA_SMOKE", "") not in ("", "0")


def check(part_id: str, obj: object, *, record: bool = True) -> object:
    """Check one exercise (a function or class) from a notebook or script: `check("0.1", make_rays_1d)`."""
    from arena.checker import check_object

    return check_object(part_id, obj, record=record)


__all__ = ["check", "smoke"]
