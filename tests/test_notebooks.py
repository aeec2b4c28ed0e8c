"""The generated notebooks: the solutions notebook of every part runs top to bottom."""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from arena.catalog import Part, all_parts
from arena.notebook import build_notebook

PARTS = all_parts()


@pytest.mark.slow
@pytest.mark.parametrize("part", PARTS, ids=[p.id for p in PARTS])
def test_solutions_notebook_executes(part: Part, tmp_path: Path) -> None:
    nb = build_notebook(part, solutions=True)
    os.environ["ARENA_SMOKE"] = "1"
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()
    print(f"{part.id} notebook executed in {time.perf_counter() - start:.1f} s")
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors
    checks = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "❌" not in checks and "💥" not in checks
    assert checks.count("✅") == len([c for c in nb.cells if c.source.startswith("check(")])


@pytest.mark.parametrize("part", PARTS, ids=[p.id for p in PARTS])
def test_stub_notebook_has_stubs_and_checks(part: Part) -> None:
    nb = build_notebook(part, solutions=False)
    nbformat.validate(nb)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any("raise NotImplementedError" in s for s in sources)
    assert not any("# SOLUTION" in s for s in sources)
    assert any(s.startswith(f'check("{part.id}"') for s in sources)
