"""check and diff of VmFromBackup, driven by its property model; neither may touch ZStack."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_zstack_provider import VmFromBackupProperties, VmFromBackupProvider
from pulumi_zstack_provider._schema import UNKNOWN
from zstack_simulator import seed

pytestmark = pytest.mark.unit

GROUP = "4b2a8c1e9f3d4e5a8b7c6d5e4f3a2b1c"
OWNER = {"owner_stack": "organization/restore/dev", "owner_urn": "urn:pulumi:dev::restore::t::drill"}
VALID = {
    **OWNER,
    "group_uuid": GROUP,
    "name": "drill",
    "instance_offering_uuid": seed.INSTANCE_OFFERING_UUID,
    "l3_network_uuids": [seed.ISOLATED_L3_NETWORK_UUID],
}


@pytest.fixture(autouse=True)
def zstack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ZSTACK_ACCESS_KEY_ID", "ZSTACK_ACCESS_KEY_SECRET", "ZSTACK_SESSION_ID", "ZSTACK_PORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ZSTACK_HOST", "127.0.0.1")
    monkeypatch.setenv("ZSTACK_ACCOUNT_NAME", "admin")
    monkeypatch.setenv("ZSTACK_ACCOUNT_PASSWORD", "password")


def check(news: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    result = VmFromBackupProvider().check({}, {**news, "__provider": "blob"})
    return result.inputs, {f.property: f.reason for f in result.failures}


def without(*names: str, **changes: Any) -> dict[str, Any]:
    return {**{k: v for k, v in VALID.items() if k not in names}, **changes}


def test_valid_inputs_pass_and_engine_numbers_become_integers() -> None:
    inputs, failures = check(without("instance_offering_uuid", cpu_num=2.0, memory_size=2147483648.0))
    assert failures == {}
    assert inputs["cpu_num"] == 2
    assert isinstance(inputs["memory_size"], int)


@pytest.mark.parametrize(
    ("changes", "prop", "expected"),
    [
        ({"group_uuid": "not-a-uuid"}, "group_uuid", "32 lowercase hex"),
        (
            {"l3_network_uuids": ["e0000000-0000-4000-8000-000000000008"]},
            "l3_network_uuids",
            "without dashes",
        ),
        ({"name": ""}, "name", "must not be empty"),
        ({"name": "n" * 256}, "name", "at most 255 characters"),
        ({"strategy": "StartLater"}, "strategy", "'InstantStart', 'JustCreate' or 'CreateStopped'"),
        ({"instance_offering_uuid": None, "cpu_num": 0, "memory_size": 1024}, "cpu_num", "at least 1"),
        ({"create_timeout": "soon"}, "create_timeout", "duration"),
        ({"delete_timeout": "-5m"}, "delete_timeout", "duration"),
        ({"cpu_num": 2, "memory_size": 1024}, "instance_offering_uuid", "cannot be combined"),
        (
            {"default_l3_network_uuid": seed.L3_NETWORK_UUID},
            "default_l3_network_uuid",
            "must be one of l3_network_uuids",
        ),
    ],
)
def test_each_bad_input_is_refused_naming_the_property(
    changes: dict[str, Any], prop: str, expected: str
) -> None:
    _, failures = check({**VALID, **changes})
    assert list(failures) == [prop]
    assert expected in failures[prop]
    assert failures[prop].startswith(prop)


def test_cpu_and_memory_must_come_together_or_as_an_offering() -> None:
    _, failures = check(without("instance_offering_uuid"))
    assert (
        "instance_offering_uuid, or cpu_num and memory_size, must be set"
        in failures["instance_offering_uuid"]
    )
    _, failures = check(without("instance_offering_uuid", cpu_num=2))
    assert failures == {"memory_size": "memory_size is required with cpu_num"}
    _, failures = check(without("instance_offering_uuid", memory_size=1024))
    assert failures == {"cpu_num": "cpu_num is required with memory_size"}


def test_a_vm_needs_a_place() -> None:
    _, failures = check(without("l3_network_uuids"))
    assert (
        "at least one of l3_network_uuids, zone_uuid, cluster_uuid and host_uuid"
        in failures["l3_network_uuids"]
    )
    assert check(without("l3_network_uuids", zone_uuid=seed.ZONE_UUID))[1] == {}


def test_rules_across_properties_wait_for_values_computed_by_other_resources() -> None:
    # The offering comes from another resource: unknown at preview, so nothing is refused yet.
    assert check(without("cpu_num", instance_offering_uuid=UNKNOWN))[1] == {}
    assert (
        check(without("l3_network_uuids", l3_network_uuids=UNKNOWN, default_l3_network_uuid=GROUP))[1] == {}
    )
    assert check({**VALID, "group_uuid": UNKNOWN})[1] == {}


def test_rules_across_properties_apply_while_the_group_is_still_unknown() -> None:
    # The usual program restores a group made in the same `up`: unknown at preview, yet the rest is checked.
    _, failures = check({**VALID, "group_uuid": UNKNOWN, "cpu_num": 2})
    assert list(failures) == ["instance_offering_uuid"]


def state_of(**outputs: Any) -> dict[str, Any]:
    return {**VALID, "uuid": "a" * 32, "state": "Running", "owner_claim": "c" * 16, **outputs}


def diff(olds: dict[str, Any], news: dict[str, Any]) -> tuple[bool | None, list[str], bool | None]:
    result = VmFromBackupProvider().diff("a" * 32, olds, {**news, "__provider": "new-blob"})
    return result.changes, sorted(result.replaces or []), result.delete_before_replace


def test_nothing_changed_means_no_diff() -> None:
    assert diff(state_of(), VALID) == (False, [], False)


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("group_uuid", "b" * 32),
        ("name", "drill-2"),
        ("l3_network_uuids", [seed.L3_NETWORK_UUID]),
        ("strategy", "CreateStopped"),
        ("instance_offering_uuid", UNKNOWN),
    ],
)
def test_a_new_group_or_any_zstack_input_replaces_new_vm_first(prop: str, value: Any) -> None:
    assert diff(state_of(), {**VALID, prop: value}) == (True, [prop], False)


def test_network_order_matters() -> None:
    two = [seed.ISOLATED_L3_NETWORK_UUID, seed.L3_NETWORK_UUID]
    assert diff(state_of(l3_network_uuids=two), {**VALID, "l3_network_uuids": two[::-1]})[1] == [
        "l3_network_uuids"
    ]


def test_timeouts_change_in_place() -> None:
    assert diff(state_of(), {**VALID, "create_timeout": "2h", "delete_timeout": "5m"}) == (True, [], False)


def test_a_vm_not_in_the_state_its_strategy_promises_is_made_again() -> None:
    assert diff(state_of(state="Stopped"), VALID) == (True, ["state"], False)
    stopped = {**VALID, "strategy": "CreateStopped"}
    assert diff(state_of(state="Stopped", strategy="CreateStopped"), stopped) == (False, [], False)
    assert diff(state_of(state="Running", strategy="CreateStopped"), stopped)[1] == ["state"]


def test_request_body_leaves_unset_options_out() -> None:
    props = VmFromBackupProperties.model_validate({**VALID, "strategy": "JustCreate"})
    assert props.request_body("f" * 32) == {
        "params": {
            "name": "drill",
            "resourceUuid": "f" * 32,
            "instanceOfferingUuid": seed.INSTANCE_OFFERING_UUID,
            "l3NetworkUuids": [seed.ISOLATED_L3_NETWORK_UUID],
            "strategy": "JustCreate",
        }
    }
