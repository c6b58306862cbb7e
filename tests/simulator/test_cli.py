"""The `zstack-simulator` console command: printed facts, seeds, TLS and `--state` across a restart."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from zstack_simulator import seed as s

from tests.simulator._cli import executable, run_cli
from tests.simulator._support import create_and_wait, group_members, login

pytestmark = pytest.mark.integration


def test_prints_its_facts_and_stops_on_sigterm() -> None:
    with run_cli("--fast") as cli:
        facts = cli.facts
        assert facts["base-url"].startswith("http://127.0.0.1:")
        assert facts["api-url"] == facts["base-url"] + "/zstack/v1"
        assert (facts["account-name"], facts["access-key-id"]) == ("admin", s.ACCESS_KEY_ID)
        assert facts["account-password"] == s.ADMIN_PASSWORD
        assert facts["access-key-secret"] == s.ACCESS_KEY_SECRET
        cli.process.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert cli.process.wait(timeout=10) in (0, -signal.SIGTERM)
        assert cli.process.stderr is not None
        assert "Traceback" not in cli.process.stderr.read()


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    group = uuid.uuid4().hex
    with run_cli("--fast", "--state", str(state)) as cli, httpx.Client(base_url=cli.base_url) as client:
        headers = login(client)
        assert create_and_wait(client, headers, resourceUuid=group).status_code == 200
        saved = json.loads(state.read_text())
        assert {b["groupUuid"] for b in saved["volumeBackups"]} == {group}
    with run_cli("--fast", "--state", str(state)) as cli, httpx.Client(base_url=cli.base_url) as client:
        stale = client.get("/zstack/v1/volume-backups", headers=headers)
        assert stale.json()["error"]["code"] == "ID.1001"  # sessions do not survive
        members = group_members(client, login(client), group)
        assert len(members) == 3
        assert {m["status"] for m in members} == {"Ready"}
    assert not [p.name for p in tmp_path.iterdir() if p.name != "state.json"]


def test_seed_file_replaces_parts_of_the_default(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    vm = "1" * 8 + "0" * 4 + "4000" + "8000" + "0" * 12
    root = "2" * 8 + "0" * 4 + "4000" + "8000" + "0" * 12
    seed.write_text(
        json.dumps(
            {
                "vmInstances": [{"uuid": vm, "name": "custom", "state": "Running"}],
                "volumes": [
                    {"uuid": root, "name": "ROOT-custom", "type": "Root", "vmInstanceUuid": vm, "size": 1}
                ],
            }
        )
    )
    with (
        run_cli("--fast", "--e-notation", "--seed", str(seed)) as cli,
        httpx.Client(base_url=cli.base_url) as client,
    ):
        headers = login(client)
        vms = client.get("/zstack/v1/vm-instances", headers=headers).json()["inventories"]
        assert [(v["uuid"], v["rootVolumeUuid"]) for v in vms] == [(vm, root)]
        storages = client.get("/zstack/v1/backup-storage", headers=headers)
        assert len(storages.json()["inventories"]) == 5  # absent keys keep the default seed
        assert '"totalCapacity":4.398046511104E12' in storages.text


def test_invalid_seed_file_is_refused(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps({"vmInstances": [{"uuid": "x", "name": "no-root", "state": "Running"}], "volumes": []})
    )
    finished = subprocess.run(
        [executable(), "--port", "0", "--seed", str(seed)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert finished.returncode != 0
    assert "must have exactly one Root volume" in finished.stderr


def test_tls_prints_the_ca_bundle(tmp_path: Path) -> None:
    with run_cli("--fast", "--tls", "--tls-dir", str(tmp_path)) as cli:
        assert cli.base_url.startswith("https://")
        assert cli.facts["ca-bundle"] == str(tmp_path / "ca.pem")
        context = ssl.create_default_context(cafile=cli.facts["ca-bundle"])
        response = httpx.get(f"{cli.base_url}/_simulator/health", verify=context)
        assert response.json() == {"status": "ok"}
