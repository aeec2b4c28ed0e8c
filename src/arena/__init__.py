"""The course engine: finds parts, builds exercise files, checks learners' code, tracks progress."""

from __future__ import annotations

import os
import sys

# Progress bars redraw with a carriage return; where output is not a terminal (a log file, a pipe, CI)
# every redraw becomes a line. There, tqdm bars update at most every 30 s (plus the final state), and
# set_postfix/set_description (called once per batch in training loops) wait for that update.
PIPED_TQDM_MININTERVAL = "30"
_DEFERRED = ("set_postfix", "set_postfix_str", "set_description", "set_description_str")


def _defer_tqdm_refreshes(module: object) -> None:
    cls = module.tqdm  # type: ignore[attr-defined]
    for name in _DEFERRED:
        original = getattr(cls, name, None)
        if original is None or getattr(original, "__arena_deferred__", False):
            continue

        def deferred(self, *args, _original=original, refresh: bool = True, **kwargs):  # noqa: ANN001
            return _original(self, *args, refresh=False, **kwargs)

        deferred.__arena_deferred__ = True  # type: ignore[attr-defined]
        setattr(cls, name, deferred)


class _PatchTqdmOnImport:
    """A meta-path hook that patches tqdm.std when (if ever) it is imported, so `import arena` stays cheap."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):  # noqa: ANN201
        if fullname != "tqdm.std":
            return None
        import importlib.machinery

        sys.meta_path.remove(self)
        try:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)  # type: ignore[arg-type]
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_patch(module: object) -> None:
            exec_module(module)
            _defer_tqdm_refreshes(module)

        loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def _calm_progress_bars_when_piped() -> None:
    if "ipykernel" in sys.modules:  # notebooks render carriage returns
        return
    try:
        terminal = sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        terminal = False
    if not terminal:
        os.environ.setdefault("TQDM_MININTERVAL", PIPED_TQDM_MININTERVAL)
        if "tqdm.std" in sys.modules:
            _defer_tqdm_refreshes(sys.modules["tqdm.std"])
        elif not any(isinstance(f, _PatchTqdmOnImport) for f in sys.meta_path):
            sys.meta_path.insert(0, _PatchTqdmOnImport())


_calm_progress_bars_when_piped()


def smoke() -> bool:
    """True when long-running lesson code should use a short setting (set by the test suite)."""
    return os.environ.get("ARENA_SMOKE", "") not in ("", "0")


def check(part_id: str, obj: object, *, record: bool = True) -> object:
    """Check one exercise (a function or class) from a notebook or script: `check("0.1", make_rays_1d)`."""
    from arena.checker import check_object

    return check_object(part_id, obj, record=record)


__all__ = ["check", "smoke"]
