"""A real headless Chromium for the player's tests, driven by Playwright.

The browser is the system's (Debian's ``chromium`` package: ``.ci/run``
installs it); Playwright drives it but brings none of its own. Every request
the page makes is routed here: the page itself is served from its file at a
made-up address, anything else is refused and recorded, so a test sees
every fetch the page tries (there must be none).
"""

from __future__ import annotations

import io
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# The browser Debian installs; OPTVIZ_CHROMIUM names another.
CHROMIUM = os.environ.get("OPTVIZ_CHROMIUM") or shutil.which("chromium") or ""
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Screenshots in sRGB as the PNGs are, whatever the machine's profile.
    "--force-color-profile=srgb",
]
ADDRESS = "http://optviz.invalid/player.html"  # never resolved: routed here


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[browser]')"
    if not CHROMIUM or not Path(CHROMIUM).exists():
        return "no chromium executable (apt-get install chromium)"
    return None


@dataclass
class Visit:
    """One page open in the browser, and what it did."""

    page: object
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # console errors, exceptions

    def eval(self, script: str, arg=None):
        return self.page.evaluate(script, arg)  # type: ignore[attr-defined]

    def wait(self, script: str, timeout: float = 10.0) -> None:
        """Until ``script`` is true (polled: the page's policy forbids the
        eval() that Playwright's wait_for_function needs)."""
        ends = time.monotonic() + timeout
        while not self.eval(script):
            if time.monotonic() > ends:
                raise TimeoutError(f"still not true after {timeout} s: {script}")
            time.sleep(0.05)

    def canvas(self) -> np.ndarray:
        """The canvas as the screen shows it, (h, w, 3) uint8."""
        from PIL import Image

        shot = self.page.locator("canvas").screenshot()  # type: ignore[attr-defined]
        return np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"))

    def close(self) -> None:
        self.page.close()  # type: ignore[attr-defined]


class Browser:
    """One Chromium for many pages."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._driver = sync_playwright().start()
        self._browser = self._driver.chromium.launch(
            executable_path=CHROMIUM, args=ARGS
        )

    def open(self, path: Path, width: int = 1100, height: int = 900) -> Visit:
        """``path`` (a page) loaded and ready (``window.optviz.ready``)."""
        page = self._browser.new_page(
            viewport={"width": width, "height": height}, device_scale_factor=1
        )
        visit = Visit(page)
        body = Path(path).read_bytes()

        def route(route) -> None:
            url = route.request.url
            visit.requests.append(url)
            if url == ADDRESS:
                route.fulfill(
                    status=200, content_type="text/html; charset=utf-8", body=body
                )
            else:
                route.abort()

        page.route("**/*", route)
        page.on(
            "console",
            lambda m: visit.errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: visit.errors.append(str(e)))
        page.goto(ADDRESS)
        visit.wait("Boolean(window.optviz && window.optviz.ready)", timeout=20.0)
        page.mouse.move(width - 1, height - 1)  # off the canvas: no hover
        return visit

    def close(self) -> None:
        self._browser.close()
        self._driver.stop()
