"""The native plugin's door: engine property values <-> the core's dicts, names, unknowns, secrets, schema."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pulumi.provider.experimental import provider as p
from pulumi.provider.experimental.property_value import Computed, PropertyValue, ResourceReference
from pulumi_zstack_provider._core import ProviderError
from pulumi_zstack_provider._ownership import OWNER_INPUTS
from pulumi_zstack_provider._package_schema import RESOURCES, package_schema
from pulumi_zstack_provider._schema import UNKNOWN, Role, wire_name
from pulumi_zstack_provider.native import ZStackProvider, owner_of, to_plain, to_value, unwrap
from zstack_simulator import seed as s

pytestmark = pytest.mark.unit

URN = "urn:pulumi:dev::backups::zstack:index:VmBackup::nightly"
INPUTS = {
    "rootVolumeUuid": PropertyValue(s.RUNNING_VM_ROOT_VOLUME_UUID),
    "backupStorageUuid": PropertyValue(s.IMAGESTORE_BS_UUID),
    "name": PropertyValue("nightly"),
}


def run(coroutine: Any) -> Any:
    # Not `asyncio.run`: it leaves the main thread without a current loop, which later tests rely on.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def configured() -> ZStackProvider:
    provider = ZStackProvider()
    config = {
        "host": PropertyValue("127.0.0.1"),
        "port": PropertyValue(8080.0),
        "accountName": PropertyValue("admin"),
        "accountPassword": PropertyValue("password").with_secret(True),
    }
    run(provider.configure(p.ConfigureRequest({}, config, True, True)))
    return provider


# ----------------------------------------------------------------------------------------------- values


def test_engine_values_become_plain_json_with_the_unknown_marker() -> None:
    value = PropertyValue(
        {
            "list": PropertyValue([PropertyValue(1.0), PropertyValue(Computed())]),
            "flag": PropertyValue(True),
            "none": PropertyValue(None),
        }
    )

    assert to_plain(value) == {"list": [1.0, UNKNOWN], "flag": True, "none": None}


def test_a_secret_anywhere_in_a_property_marks_the_property_secret() -> None:
    plain, secrets = unwrap(
        {
            "name": PropertyValue("n"),
            "triggers": PropertyValue([PropertyValue("v1").with_secret(True)]),
            "description": PropertyValue("d").with_secret(True),
        }
    )

    assert plain == {"name": "n", "triggers": ["v1"], "description": "d"}
    assert secrets == {"triggers", "description"}


def test_values_the_resources_never_take_are_refused() -> None:
    with pytest.raises(ProviderError, match="Resource"):
        to_plain(PropertyValue(ResourceReference("urn:pulumi:dev::p::t::n")))


def test_plain_values_become_engine_values_numbers_as_floats() -> None:
    value = to_value({"size": 5, "refs": [{"ok": True}], "when": None}, secret=True)

    assert value.is_secret
    assert value.value["size"] == PropertyValue(5.0)
    assert value.value["refs"] == PropertyValue([PropertyValue({"ok": PropertyValue(True)})])
    assert value.value["when"] == PropertyValue(None)


def test_the_owner_comes_from_the_urn_under_the_default_organization() -> None:
    owner = owner_of(URN)

    assert (owner.stack, owner.urn) == ("organization/backups/dev", URN)
    with pytest.raises(ProviderError, match="URN"):
        owner_of("nightly")


# ----------------------------------------------------------------------------------------------- calls


def test_check_takes_schema_names_and_leaves_unknown_inputs_unjudged() -> None:
    provider = configured()
    inputs = {**INPUTS, "rootVolumeUuid": PropertyValue(Computed()), "name": PropertyValue(UNKNOWN)}

    checked = run(provider.check(p.CheckRequest(URN, {}, inputs, b"")))

    assert checked.failures == []
    assert checked.inputs["rootVolumeUuid"] == PropertyValue(UNKNOWN)
    assert "ownerUrn" not in checked.inputs


def test_check_keeps_a_secret_input_secret_and_reports_failures_by_schema_name() -> None:
    provider = configured()
    inputs = {
        **INPUTS,
        "description": PropertyValue("x").with_secret(True),
        "systemTags": PropertyValue("no"),
    }

    checked = run(provider.check(p.CheckRequest(URN, {}, inputs, b"")))

    assert [f.property for f in checked.failures] == ["systemTags"]
    assert checked.inputs["description"].is_secret


def test_diff_of_an_unknown_replacing_input_plans_a_replacement_by_schema_name() -> None:
    provider = configured()
    olds = {**INPUTS, "groupUuid": PropertyValue("a" * 32), "createTimeout": PropertyValue("20m")}
    news = {**INPUTS, "backupStorageUuid": PropertyValue(UNKNOWN), "createTimeout": PropertyValue("30m")}

    diff = run(provider.diff(p.DiffRequest(URN, "a" * 32, olds, news, [])))

    assert diff.changes is True
    assert diff.replaces == ["backupStorageUuid"]
    assert diff.detailed_diff["backupStorageUuid"].kind is p.PropertyDiffKind.UPDATE_REPLACE
    assert diff.detailed_diff["createTimeout"].kind is p.PropertyDiffKind.UPDATE
    assert diff.delete_before_replace is False


def test_a_preview_create_returns_unknown_outputs_and_the_owner_without_calling_zstack() -> None:
    provider = configured()  # nothing listens on 127.0.0.1:8080 in a unit test

    preview = run(provider.create(p.CreateRequest(URN, INPUTS, 60.0, preview=True)))

    assert preview.resource_id == ""
    assert preview.properties["groupUuid"] == PropertyValue(UNKNOWN)
    assert preview.properties["status"] == PropertyValue(UNKNOWN)
    assert preview.properties["name"] == PropertyValue("nightly")
    assert preview.properties["ownerUrn"] == PropertyValue(URN)


def test_an_unknown_type_token_is_refused_by_name() -> None:
    with pytest.raises(ProviderError, match="zstack:index:Nope"):
        run(configured().check(p.CheckRequest("urn:pulumi:dev::p::zstack:index:Nope::n", {}, {}, b"")))


def test_a_config_change_updates_the_provider_and_never_replaces_it() -> None:
    olds = {"host": PropertyValue("a"), "version": PropertyValue("0.1.0")}
    news = {"host": PropertyValue("b"), "version": PropertyValue("0.2.0")}

    diff = run(ZStackProvider().diff_config(p.DiffRequest("urn", "id", olds, news, [])))

    assert (diff.changes, diff.replaces, diff.diffs) == (True, [], ["host"])


# ----------------------------------------------------------------------------------------------- schema


def test_wire_names_are_camel_case() -> None:
    assert wire_name("root_volume_uuid") == "rootVolumeUuid"
    assert wire_name("l3_network_uuids") == "l3NetworkUuids"
    assert wire_name("name") == "name"


@pytest.mark.parametrize("token", sorted(RESOURCES))
def test_the_schema_follows_each_model(token: str) -> None:
    model = RESOURCES[token].model
    resource = package_schema()["resources"][token]
    published = [spec for spec in model.properties() if spec.name not in OWNER_INPUTS]
    inputs = [spec for spec in published if spec.role is not Role.OUTPUT]

    assert set(resource["properties"]) == {wire_name(spec.name) for spec in published}
    assert set(resource["inputProperties"]) == {wire_name(spec.name) for spec in inputs}
    assert resource["requiredInputs"] == sorted(wire_name(spec.name) for spec in inputs if spec.required)
    replacing = {name for name, prop in resource["inputProperties"].items() if prop.get("replaceOnChanges")}
    assert replacing == {wire_name(spec.name) for spec in inputs if spec.replace}
    for spec in published:
        assert resource["properties"][wire_name(spec.name)]["description"].startswith(spec.description)


def test_the_schema_leaves_out_the_owner_inputs_and_marks_credentials_secret() -> None:
    schema = package_schema()
    backup = schema["resources"]["zstack:index:VmBackup"]
    config = schema["config"]["variables"]

    assert not {"ownerStack", "ownerUrn"} & set(backup["inputProperties"])
    assert {k for k, v in config.items() if v.get("secret")} == {
        "accountPassword",
        "accessKeySecret",
        "sessionId",
    }
    assert schema["provider"]["inputProperties"] == config
    assert backup["properties"]["mode"]["type"] == "string"
    assert "`auto`" in backup["properties"]["mode"]["description"]


def test_messages_name_properties_by_their_schema_names() -> None:
    provider = configured()
    inputs = {**INPUTS, "volumeReadBandwidth": PropertyValue(10.0)}

    checked = run(provider.check(p.CheckRequest(URN, {}, inputs, b"")))

    (failure,) = checked.failures
    assert failure.property == "volumeReadBandwidth"
    assert failure.reason.startswith("volumeReadBandwidth must be at least 1024")


def test_only_a_vm_backup_can_be_imported() -> None:
    series_urn = "urn:pulumi:dev::backups::zstack:index:VmBackupSeries::pre-release"

    with pytest.raises(ProviderError, match="VmBackupSeries cannot be imported"):
        run(configured().read(p.ReadRequest(series_urn, "a" * 32, {}, {})))
