"""No credential leaks out of a whole VmBackup lifecycle run through the real Pulumi CLI.

After `up`, `refresh`, `preview` and `destroy`, with account/password and with access-key authentication,
the credentials (password, its SHA-512, access-key secret, every session id ZStack issued) are searched for
in: the CLI output, which carries the provider's stderr lines; `pulumi stack export` with and without
`--show-secrets`; the pickled provider in `__provider`; every file of the Pulumi home, backend and project;
and everything this test process printed or logged. The engine runs with `PULUMI_DEBUG` unset and without
`-v`, as a user runs it.

The one place a credential may appear is `stack export --show-secrets`: the engine records the stack config
as the inputs of the default dynamic provider, so the decrypted config secret shows there. That is Pulumi's
behaviour for every dynamic provider and the purpose of `--show-secrets`; the test pins it to exactly that
place.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from zstack_simulator import seed, sha512_hex

from tests.fixtures.stack import ADMIN_PASSWORD, ZStackStack
from tests.reliability._support import (
    DEFAULT_PROVIDER_TYPE,
    backups_in,
    files_holding,
    found_in,
    list_case,
    locations,
    note,
    program,
    provider_blobs,
    resources,
    secret_free,
    vm_backup,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _one_line_per_case(request: pytest.FixtureRequest) -> None:
    list_case(request)


# Per authentication: the credential kept in the stack config, and its config key.
CONFIG_SECRET = {
    "account password": ("account password", "zstack:accountPassword"),
    "access key": ("access key secret", "zstack:accessKeySecret"),
}


def _credentials(stack: ZStackStack) -> dict[str, str]:
    """Every credential of the run, by label; session ids as the simulator issued them."""
    known = {
        "account password": ADMIN_PASSWORD,
        "password SHA-512": sha512_hex(ADMIN_PASSWORD),
        "access key secret": seed.ACCESS_KEY_SECRET,
    }
    for number, session_id in enumerate(stack.simulator.issued_session_ids, start=1):
        known[f"session id #{number}"] = session_id
    return known


def _config_secret_paths(document: dict[str, Any], key: str) -> set[str]:
    """Where `--show-secrets` shows the config secret `key`: the default provider's inputs and outputs."""
    return {
        f"/deployment/resources/{index}/{side}/{key}/plaintext"
        for index, resource in enumerate(resources(document))
        if resource["type"] == DEFAULT_PROVIDER_TYPE
        for side in ("inputs", "outputs")
    }


@pytest.mark.parametrize("auth", ["account password", "access key"])
def test_a_whole_lifecycle_leaks_no_credential(
    zstack_stack: ZStackStack,
    auth: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    stack = zstack_stack
    if auth == "access key":
        stack.use_access_key()
    stack.write_program(program(vm_backup()))
    # Send the provider down its logging paths: a query it retries, and (with a password) a login again.
    stack.simulator.faults.error_503(method="GET", path="/zstack/v1/volume-backups*", count=1)
    stack.simulator.faults.expire_session_during_job(method="POST", count=1)

    stack.up()
    stack.refresh()
    assert stack.preview().summary == {}
    plain_deployed = stack.export()
    shown_from = len(stack.transcript)
    revealed_deployed = stack.export(show_secrets=True)
    stack.destroy()
    plain_destroyed = stack.export()
    revealed_destroyed = stack.export(show_secrets=True)
    # Everything the CLI printed except the two `--show-secrets` exports, which are checked below.
    cli_output = "".join(stack.transcript[:shown_from] + stack.transcript[shown_from + 1 : -1])

    credentials = _credentials(stack)
    sessions = [label for label in credentials if label.startswith("session id")]
    if auth == "access key":
        assert sessions == []
        assert {r.auth for r in stack.requests() if r.api != "QueryJob"} == {"ZStack"}
    else:
        assert len(sessions) >= 2, "the provider logged in again after its session expired"
    # The provider's own stderr lines reached the CLI output, the retry among them.
    assert "zstack: create of VmBackup" in cli_output
    assert "retrying in" in cli_output
    assert stack.live_groups() == {}
    assert len(backups_in(plain_deployed)) == 1
    assert backups_in(plain_destroyed) == []

    assert found_in(cli_output, credentials) == []
    assert found_in(json.dumps(plain_deployed) + json.dumps(plain_destroyed), credentials) == []
    assert found_in(json.dumps(secret_free(revealed_deployed)), credentials) == []
    config_label, config_key = CONFIG_SECRET[auth]
    revealed_at = locations(revealed_deployed, credentials)
    assert {label for label, _ in revealed_at} == {config_label}
    assert {path for _, path in revealed_at} <= _config_secret_paths(revealed_deployed, config_key)
    assert locations(revealed_destroyed, credentials) == []

    blobs = provider_blobs(plain_deployed) + provider_blobs(revealed_deployed)
    assert len(blobs) == 4
    assert [found_in(blob, credentials) for blob in blobs] == [[], [], [], []]

    workspace = stack.workspace
    assert files_holding([workspace.home, workspace.backend_dir, stack.directory], credentials) == []

    printed = capfd.readouterr()
    assert found_in(printed.out + printed.err + caplog.text, credentials) == []
    note(
        request,
        f"{len(credentials)} credentials ({len(sessions)} session ids) in none of: CLI output, exports, "
        f"__provider, files, test output; --show-secrets shows only the config secret {config_key}",
    )
