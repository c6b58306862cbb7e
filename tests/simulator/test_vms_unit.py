"""Restored VMs without HTTP: the seed's placement data, state files, out-of-band VM changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from zstack_simulator import Settings, Simulator
from zstack_simulator import seed as s
from zstack_simulator.seed import INFRASTRUCTURE_KEYS, default_seed

pytestmark = pytest.mark.unit


def test_the_seed_has_somewhere_to_restore_to() -> None:
    data = default_seed()
    networks = {n.uuid: n for n in data.l3_networks}
    assert [r.network_cidr for r in networks[s.ISOLATED_L3_NETWORK_UUID].ip_ranges] == ["10.99.0.0/24"]
    assert networks[s.NO_IP_RANGE_L3_NETWORK_UUID].ip_ranges == []
    production = networks[s.L3_NETWORK_UUID].ip_ranges[0]
    seed_ips = {nic.ip for vm in data.vm_instances for nic in vm.vm_nics}
    assert all(ip.startswith("192.168.100.") for ip in seed_ips)
    assert production.start_ip not in seed_ips
    assert {o.uuid for o in data.instance_offerings} == {s.INSTANCE_OFFERING_UUID}
    assert {p.uuid for p in data.primary_storages} == {s.PRIMARY_STORAGE_UUID, s.SECOND_PRIMARY_STORAGE_UUID}
    [host] = data.hosts
    assert (host.uuid, host.cluster_uuid, host.zone_uuid) == (s.HOST_UUID, s.CLUSTER_UUID, s.ZONE_UUID)
    # Every VM of the seed sits on the seeded host, zone and cluster, and on a seeded network.
    assert {vm.zone_uuid for vm in data.vm_instances} == {s.ZONE_UUID}
    assert {nic.l3_network_uuid for vm in data.vm_instances for nic in vm.vm_nics} <= set(networks)


def test_an_older_state_file_gets_the_default_placement_data(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    document = default_seed().model_dump(by_alias=True)
    for key in INFRASTRUCTURE_KEYS:
        del document[key]
    document["l3Networks"] = []
    state.write_text(json.dumps(document), encoding="utf-8")
    sim = Simulator(state_file=state)
    # A key the file has is kept as it is, even empty; the missing ones come from the default seed.
    assert sim.query("l3-networks", None, ())["inventories"] == []
    [offering] = sim.query("instance-offerings", None, ())["inventories"]
    assert offering["uuid"] == s.INSTANCE_OFFERING_UUID
    assert "hosts" in json.loads(state.read_text(encoding="utf-8"))


def test_out_of_band_states_move_the_vm_off_and_onto_its_host() -> None:
    sim = Simulator(Settings.fast())
    sim.set_vm_state(s.RUNNING_VM_UUID, "Stopped")
    [stopped] = sim.query("vm-instances", s.RUNNING_VM_UUID, ())["inventories"]
    assert stopped["hostUuid"] is None
    assert stopped["lastHostUuid"] == s.HOST_UUID
    sim.set_vm_state(s.RUNNING_VM_UUID, "Running")
    [running] = sim.query("vm-instances", s.RUNNING_VM_UUID, ())["inventories"]
    assert running["hostUuid"] == s.HOST_UUID
    with pytest.raises(KeyError):
        sim.set_vm_state("10000000000040008000000000000fff", "Stopped")


def test_an_out_of_band_destroy_detaches_data_volumes_and_expunge_removes_the_root() -> None:
    sim = Simulator(Settings.fast())
    sim.set_vm_state(s.PAUSED_VM_UUID, "Destroyed")
    [vm] = sim.query("vm-instances", s.PAUSED_VM_UUID, ())["inventories"]
    assert [(v["uuid"], v["status"]) for v in vm["allVolumes"]] == [(s.PAUSED_VM_ROOT_VOLUME_UUID, "Deleted")]
    [data] = sim.query("volumes", s.PAUSED_VM_DATA_VOLUME_UUID, ())["inventories"]
    assert data["vmInstanceUuid"] is None
    assert data["lastVmInstanceUuid"] == s.PAUSED_VM_UUID
    assert sim.expunge_vm(s.PAUSED_VM_UUID)
    assert sim.query("vm-instances", s.PAUSED_VM_UUID, ())["inventories"] == []
    assert sim.query("volumes", s.PAUSED_VM_ROOT_VOLUME_UUID, ())["inventories"] == []
    assert len(sim.query("volumes", s.PAUSED_VM_DATA_VOLUME_UUID, ())["inventories"]) == 1
    assert not sim.expunge_vm(s.PAUSED_VM_UUID)


def test_a_restored_vm_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    sim = Simulator(Settings.fast(), state_file=state)
    sim.set_vm_state(s.STOPPED_VM_UUID, "Destroyed")
    again = Simulator(Settings.fast(), state_file=state)
    [vm] = again.query("vm-instances", s.STOPPED_VM_UUID, ())["inventories"]
    assert vm["state"] == "Destroyed"
    assert len(again.query("l3-networks", None, ())["inventories"]) == 3
