"""Test-wide settings."""

import os
import tempfile

import pytest


def pytest_configure(config):
    # The suite neither reads nor fills the user's cache of generated surface
    # code (subprocesses inherit the variable); its own cache starts empty.
    os.environ["OPTVIZ_CACHE_DIR"] = tempfile.mkdtemp(prefix="optviz-cache-")


def missing(tests: str, reason: str) -> None:
    """Skip ``tests`` for want of a program, except in CI, which must run
    them (``.ci/run`` installs it)."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run {tests}: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium():
    """A real headless Chromium for the player's tests (``tests/browser.py``):
    skipped where there is none, except in CI, which must run them."""
    import browser

    reason = browser.missing()
    if reason:
        missing("the browser tests", reason)
    opened = browser.Browser()
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def mpv():
    """``mpv(video, expression, start=None)``: what the mpv player says an
    expression of its properties is once it has opened ``video`` (at
    ``start`` seconds), with no window or sound, for the tests that what
    optviz writes beside a video (chapters, subtitles) is what a player
    shows. Skipped where mpv is missing, except in CI (``.ci/run`` installs
    it)."""
    import shutil
    import subprocess

    exe = shutil.which("mpv")
    if exe is None:
        missing("the player tests", "no mpv player (apt-get install mpv)")

    def says(video, expression: str, start: float | None = None) -> str:
        args = [exe, "--no-config", "--vo=null", "--ao=null", "--frames=1"]
        if start is not None:
            args.append(f"--start={start}")
        marker = "optviz-mpv-says:"
        args += [f"--term-playing-msg={marker}{expression}", str(video)]
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=60, check=False
        )
        out = done.stdout + done.stderr
        assert marker in out, out
        return out[out.index(marker) + len(marker) :].split("\nExiting")[0].strip()

    return says
