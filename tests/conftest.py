"""Test-wide settings."""

import os
import tempfile


def pytest_configure(config):
    # The suite neither reads nor fills the user's cache of generated surface
    # code (subprocesses inherit the variable); its own cache starts empty.
    os.environ["OPTVIZ_CACHE_DIR"] = tempfile.mkdtemp(prefix="optviz-cache-")
