"""The mock monitor every SDK test runs its program under."""

from __future__ import annotations

import pytest

from tests.sdk._mocks import RecordingMocks, use_mocks


@pytest.fixture
def mocks() -> RecordingMocks:
    return use_mocks()
