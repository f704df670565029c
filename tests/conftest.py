"""Shared test helpers: the live-torch switch."""

from __future__ import annotations

import os

import pytest

REQUIRE_TORCH = os.environ.get("LINEXPLAIN_REQUIRE_TORCH") == "1"


@pytest.fixture(scope="session")
def torch():
    """Real PyTorch for live tests: skipped when absent, a failure when CI requires it."""
    try:
        import torch as _torch
    except ImportError:
        if REQUIRE_TORCH:
            pytest.fail("LINEXPLAIN_REQUIRE_TORCH=1 but torch is not installed")
        pytest.skip("torch is not installed (live torch tests are required in CI)")
    return _torch
