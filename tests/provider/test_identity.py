"""Which id a create uses: a first create and its retries share one, a replacement always gets a new one.

The engine diffs a resource that is in the state before it creates its replacement; check marks the inputs
of such a resource. These tests drive check, diff and the id choice of create without ZStack.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_zstack_provider import ProviderError, VmBackupProvider, VmBackupSeriesProvider
from pulumi_zstack_provider._ids import successor_id, take_id

pytestmark = pytest.mark.unit

ROOT = "4b2a8c1e9f3d4e5a8b7c6d5e4f3a2b1c"
STORAGE = "9e8d7c6b5a4f4e3d8c2b1a0f9e8d7c6b"
DERIVED = "d" * 32
CURRENT = "c" * 32
VALID = {"root_volume_uuid": ROOT, "backup_storage_uuid": STORAGE, "name": "nightly"}


@pytest.fixture(autouse=True)
def zstack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZSTACK_HOST", "127.0.0.1")
    monkeypatch.setenv("ZSTACK_ACCOUNT_NAME", "admin")
    monkeypatch.setenv("ZSTACK_ACCOUNT_PASSWORD", "password")


def checked(olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    result = VmBackupProvider().check(olds, news)
    assert result.failures == []
    return dict(result.inputs)


def test_a_first_create_and_its_retries_use_the_declared_id() -> None:
    provider = VmBackupProvider()
    inputs = checked({}, {**VALID, "group_uuid": DERIVED})
    assert "__in_state" not in inputs
    assert provider._id_for_create(inputs) == DERIVED
    assert provider._id_for_create(checked({}, {**VALID, "group_uuid": DERIVED})) == DERIVED


def test_a_resource_in_the_state_keeps_its_recorded_identity_and_is_marked() -> None:
    olds = {**VALID, "group_uuid": CURRENT}
    inputs = checked(olds, {**VALID, "name": "weekly", "group_uuid": DERIVED})
    assert inputs["group_uuid"] == CURRENT, "a newly derived id would only churn the stored inputs"
    assert inputs["__in_state"] is True


@pytest.mark.parametrize("reason", ["no input change (--replace)", "an input change"])
def test_a_replacement_is_made_under_the_successor_of_the_id_it_replaces(reason: str) -> None:
    provider = VmBackupProvider()
    news = {**VALID, "name": "weekly"} if reason == "an input change" else dict(VALID)
    inputs = checked({**VALID, "group_uuid": CURRENT}, {**news, "group_uuid": DERIVED})
    # The id in the state may differ from the recorded identity (an adopted or replaced resource).
    replaced = "e" * 32
    provider.diff(replaced, {**VALID, "group_uuid": replaced}, inputs)
    new_id = provider._id_for_create(inputs)
    assert new_id == successor_id(replaced)
    assert new_id not in {replaced, CURRENT, DERIVED}


def test_successive_replacements_never_come_back_to_an_earlier_id() -> None:
    seen = [CURRENT]
    for _ in range(20):
        seen.append(successor_id(seen[-1]))
    assert len(set(seen)) == len(seen)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in seen)


def test_a_replacement_without_a_diff_is_refused_rather_than_risk_adopting_the_current_backup() -> None:
    provider = VmBackupProvider()
    inputs = checked({**VALID, "group_uuid": "f" * 32}, {**VALID, "group_uuid": DERIVED})
    with pytest.raises(ProviderError, match="refusing to create a replacement of VmBackup"):
        provider._id_for_create(inputs)


def test_series_takes_have_their_own_ids() -> None:
    ids = {take_id(CURRENT, n) for n in range(1, 50)} | {take_id(DERIVED, n) for n in range(1, 50)}
    assert len(ids) == 98


def test_series_check_names_bad_keep_and_triggers() -> None:
    series = {**VALID, "series_uuid": DERIVED}
    provider = VmBackupSeriesProvider()
    for keep, expected in [(0, "at least 1"), (2.5, "whole number"), (True, "whole number"), ("3", "whole")]:
        failures = {f.property: f.reason for f in provider.check({}, {**series, "keep": keep}).failures}
        assert list(failures) == ["keep"]
        assert expected in failures["keep"]
    failures = {
        f.property: f.reason for f in provider.check({}, {**series, "keep": 2, "triggers": "v1"}).failures
    }
    assert list(failures) == ["triggers"]
    assert provider.check({}, {**series, "keep": 2.0}).inputs["keep"] == 2


def test_series_triggers_and_keep_update_in_place_and_zstack_inputs_replace() -> None:
    provider = VmBackupSeriesProvider()
    olds = {**VALID, "keep": 2, "triggers": ["1.0"], "series_uuid": CURRENT, "group_uuids": ["a" * 32]}
    news = {**VALID, "keep": 2, "triggers": ["1.0"], "series_uuid": CURRENT}
    assert provider.diff(CURRENT, olds, news).changes is False
    for change in ({"triggers": ["1.1"]}, {"keep": 3}):
        result = provider.diff(CURRENT, olds, {**news, **change})
        assert (result.changes, result.replaces) == (True, [])
    result = provider.diff(CURRENT, olds, {**news, "root_volume_uuid": "1" * 32})
    assert result.replaces == ["root_volume_uuid"]
    assert result.delete_before_replace is False
