"""One smoke test of the real site in headless Debian chromium, driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from arena.catalog import get_part

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def site(tmp_path: Path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "arena.cli", "serve", "--port", str(port), "--no-browser"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the site did not start within 90 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.browser
def test_reader_opens_home_then_part_page(site: str, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI; `make test` installs it with apt-get")
        pytest.skip("Debian's chromium is not installed (make browser-deps)")
    from playwright.sync_api import sync_playwright

    part = get_part("0.1")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(site, wait_until="networkidle")
        page.get_by_text("How to work through it").wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "home.png"))
        page.get_by_role("link", name=f"{part.id} {part.title}").first.click(timeout=120_000)
        page.get_by_role("heading", name=f"{part.id} {part.title}").wait_for(timeout=120_000)
        page.get_by_text("Exercise: make_rays_1d").first.wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
        page.get_by_text("Hint 1 for").first.click()
        page.screenshot(path=str(tmp_path / "part.png"), full_page=False)
        assert "Solution for" in page.content()
        browser.close()
