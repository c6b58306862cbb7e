"""Which id a create uses: a first create and its retries share one, a replacement always gets a new one.

For a replacement the engine checks the new inputs as if the resource were new, so create cannot tell it
from a first create by its inputs; but the engine diffs the resource first, in the same provider process.
These tests drive check, diff and the id choice of create the way the engine does, without ZStack.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pulumi_zstack_provider import VmBackupProvider, VmBackupSeriesProvider
from pulumi_zstack_provider._ids import successor_id, take_id
from pulumi_zstack_provider._resource import Occupancy

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


class FakeZStack:
    """What ZStack holds under each id, as the provider's occupancy probe sees it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, held: dict[str, Occupancy] | None = None) -> None:
        self.held = held or {}
        self.probed: list[str] = []
        self.progress: list[str] = []
        monkeypatch.setattr(VmBackupProvider.definition, "occupancy", self._occupancy)

    def _occupancy(self, _ctx: object, resource_id: str) -> Occupancy:
        self.probed.append(resource_id)
        return self.held.get(resource_id, Occupancy.FREE)

    def id_for_create(self, inputs: dict[str, Any]) -> str:
        ctx = SimpleNamespace(progress=self.progress.append)
        return VmBackupProvider()._id_for_create(ctx, inputs)  # type: ignore[arg-type]


@pytest.fixture
def zstack(monkeypatch: pytest.MonkeyPatch) -> FakeZStack:
    return FakeZStack(monkeypatch)


def checked(olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    result = VmBackupProvider().check(olds, news)
    assert result.failures == []
    return dict(result.inputs)


def test_a_first_create_and_its_retries_use_the_declared_id(zstack: FakeZStack) -> None:
    assert zstack.id_for_create(checked({}, {**VALID, "group_uuid": DERIVED})) == DERIVED
    zstack.held[DERIVED] = Occupancy.RESUMABLE  # an interrupted first attempt, running or finished
    assert zstack.id_for_create(checked({}, {**VALID, "group_uuid": DERIVED})) == DERIVED


def test_a_create_without_a_diff_never_adopts_an_object_recorded_in_a_stack(zstack: FakeZStack) -> None:
    # `pulumi up --replace`: the engine neither diffs nor passes old inputs; the object under the declared
    # id may be the very one being replaced.
    zstack.held[DERIVED] = Occupancy.RECORDED
    zstack.held[successor_id(DERIVED)] = Occupancy.RECORDED
    new_id = zstack.id_for_create(checked({}, {**VALID, "group_uuid": DERIVED}))
    assert new_id == successor_id(successor_id(DERIVED))
    assert zstack.probed == [DERIVED, successor_id(DERIVED), new_id]


@pytest.mark.parametrize("reason", ["no input change (replacement_trigger)", "an input change"])
def test_a_diffed_replacement_is_made_under_the_successor_of_the_id_it_replaces(
    zstack: FakeZStack, reason: str
) -> None:
    provider = VmBackupProvider()
    news = {**VALID, "name": "weekly"} if reason == "an input change" else dict(VALID)
    declared = "2" * 32 if reason == "an input change" else "3" * 32
    # As the engine does it: check with the old inputs, diff, check again without them, create.
    old_inputs = {**VALID, "group_uuid": CURRENT}
    provider.diff(CURRENT, old_inputs, checked(old_inputs, {**news, "group_uuid": declared}))
    new_id = zstack.id_for_create(checked({}, {**news, "group_uuid": declared}))
    assert new_id == successor_id(CURRENT)
    assert new_id not in {CURRENT, declared}
    # An interrupted replacement is diffed again by the next `up`: the same id, whatever it holds by then.
    zstack.held[new_id] = Occupancy.RECORDED
    provider.diff(CURRENT, old_inputs, checked({}, {**news, "group_uuid": declared}))
    assert zstack.id_for_create(checked({}, {**news, "group_uuid": declared})) == new_id


def test_the_state_may_track_another_id_than_the_declared_one(zstack: FakeZStack) -> None:
    provider = VmBackupProvider()
    adopted = "e" * 32  # e.g. a resource whose backup was replaced before: its id is no longer derived
    inputs = checked({}, {**VALID, "group_uuid": "4" * 32})
    provider.diff(adopted, {**VALID, "group_uuid": adopted}, inputs)
    assert zstack.id_for_create(inputs) == successor_id(adopted)


def test_successive_replacements_never_come_back_to_an_earlier_id() -> None:
    seen = [CURRENT]
    for _ in range(20):
        seen.append(successor_id(seen[-1]))
    assert len(set(seen)) == len(seen)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in seen)


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
