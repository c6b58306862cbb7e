"""Check and diff, all that a preview runs, load no HTTP client and touch no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.unit

SCRIPT = textwrap.dedent(
    """
    import json, socket, sys
    from pulumi_zstack_provider.providers import VmBackupProvider

    def no_network(*args, **kwargs):
        raise AssertionError("check or diff opened a connection")

    socket.socket.connect = no_network
    provider = VmBackupProvider()
    news = {
        "root_volume_uuid": "a" * 32,
        "backup_storage_uuid": "b" * 32,
        "name": "n",
        "owner_stack": "organization/project/stack",
        "owner_urn": "urn:pulumi:stack::project::pulumi-python:dynamic/zstack:VmBackup::n",
        "__provider": "x",
    }
    checked = provider.check({}, news)
    provider.diff("c" * 32, {**news, "group_uuid": "c" * 32}, {**news, "name": "m"})
    loaded = [m for m in ("httpx", "tenacity", "pulumi_zstack_provider._client._client") if m in sys.modules]
    print(json.dumps({"failures": [f.reason for f in checked.failures], "loaded": loaded}))
    """
)


def test_check_and_diff_load_no_http_client() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZSTACK_")}
    env |= {"ZSTACK_HOST": "127.0.0.1", "ZSTACK_ACCOUNT_NAME": "admin", "ZSTACK_ACCOUNT_PASSWORD": "pw"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    assert json.loads(done.stdout) == {"failures": [], "loaded": []}
