"""Shared fixtures: the real-world corpus under ``../shared/corpus``.

The corpus is read in place (never copied into the project). Its location is
``$ATTESTLAKE_CORPUS`` or, by default, ``shared/corpus`` next to the project directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# A bug in a verifier or normaliser raises in the suite (and in the commands it starts)
# instead of being recorded as an ``internal_error`` outcome; tests of that outcome unset it.
os.environ.setdefault("ATTESTLAKE_STRICT", "1")

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The corpus directory; skip (or fail when ``CI=true``) if it is not there."""
    configured = os.environ.get("ATTESTLAKE_CORPUS")
    path = Path(configured) if configured else DEFAULT_CORPUS
    if not path.is_dir():
        source = "ATTESTLAKE_CORPUS" if configured else "the default location"
        reason = (
            f"corpus not found at {path} (from {source}); "
            "set ATTESTLAKE_CORPUS to the shared corpus directory"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path
