"""The mock monitor every SDK test runs its program under."""

from __future__ import annotations

import pulumi
import pytest

from tests.sdk._mocks import RecordingMocks


@pytest.fixture
def mocks() -> RecordingMocks:
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(recording, project="proj", stack="dev", preview=False)
    return recording
