"""The default seed: well-known uuids are valid and describe the data set the docs promise."""

from __future__ import annotations

import re

import pytest
from zstack_simulator import Simulator, StateData
from zstack_simulator import seed as s
from zstack_simulator.seed import default_seed

pytestmark = pytest.mark.unit

UUID_V4 = re.compile(r"[0-9a-f]{8}[0-9a-f]{4}4[0-9a-f]{3}[89ab][0-9a-f]{3}[0-9a-f]{12}")


def test_well_known_uuids_are_dashless_v4_uuids() -> None:
    names = [n for n in dir(s) if n.endswith(("_UUID", "_UUIDS"))]
    values = [v for n in names for v in (getattr(s, n) if n.endswith("S") else (getattr(s, n),))]
    assert len(values) == len(set(values)) > 20
    assert [v for v in values if not UUID_V4.fullmatch(v)] == []


def test_default_seed_matches_the_constants() -> None:
    data = default_seed()
    vms = {vm.uuid: vm.state for vm in data.vm_instances}
    assert vms[s.RUNNING_VM_UUID] == vms[s.ROOT_ONLY_VM_UUID] == "Running"
    assert (vms[s.PAUSED_VM_UUID], vms[s.STOPPED_VM_UUID], vms[s.STARTING_VM_UUID]) == (
        "Paused",
        "Stopped",
        "Starting",
    )
    shared = [v.uuid for v in data.volumes if v.is_shareable]
    assert shared == [s.RUNNING_VM_SHARED_VOLUME_UUID]
    storages = {b.uuid: (b.type, b.state) for b in data.backup_storages}
    assert storages[s.IMAGESTORE_BS_UUID] == ("ImageStoreBackupStorage", "Enabled")
    assert storages[s.DISABLED_IMAGESTORE_BS_UUID] == ("ImageStoreBackupStorage", "Disabled")
    assert data.volume_backups == []
    assert default_seed() is not data


def test_a_seed_object_is_checked() -> None:
    broken = StateData.model_validate({"vmInstances": [{"uuid": "v", "name": "v", "state": "Running"}]})
    with pytest.raises(ValueError, match="exactly one Root volume"):
        Simulator(seed=broken)


def test_credentials_repr_hides_secrets() -> None:
    credentials = Simulator().credentials
    assert credentials.account_password == s.ADMIN_PASSWORD
    text = repr(credentials) + repr(default_seed())
    assert repr(s.ADMIN_PASSWORD) not in text
    assert s.ACCESS_KEY_SECRET not in text
