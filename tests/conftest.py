"""Test-wide settings."""

import os
import tempfile

import pytest


def pytest_configure(config):
    # The suite neither reads nor fills the user's cache of generated surface
    # code (subprocesses inherit the variable); its own cache starts empty.
    os.environ["OPTVIZ_CACHE_DIR"] = tempfile.mkdtemp(prefix="optviz-cache-")


@pytest.fixture(scope="module")
def chromium():
    """A real headless Chromium for the player's tests (``tests/browser.py``):
    skipped where there is none, except in CI, which must run them."""
    import browser

    reason = browser.missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    opened = browser.Browser()
    yield opened
    opened.close()
