"""VmBackup over HTTPS through the real Pulumi CLI: trusted, skipped and failed certificate checks.

The simulator serves HTTPS with a certificate from a throw-away trustme CA, by default for both `127.0.0.1`
and `localhost` (`TlsMaterial.generate`); the mismatch cases issue one for a single name and connect by the
other. A refused certificate fails `up` before any HTTP request is made, with a message that names the
certificate problem and the settings that fix it; `preview` never contacts ZStack.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import pytest
from zstack_simulator import TlsMaterial

from tests.fixtures.engine import PulumiWorkspace
from tests.fixtures.simulator import ServeSimulator
from tests.fixtures.stack import ZStackStack
from tests.reliability._support import cli_text, list_case, note, program, start_stack, tail, vm_backup

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _one_line_per_case(request: pytest.FixtureRequest) -> None:
    list_case(request)


BOTH_NAMES = ("127.0.0.1", "localhost")
FIX_HINT = (
    "set `zstack:host` (ZSTACK_HOST)",
    "set `zstack:caCertFile` (ZSTACK_CA_CERT_FILE)",
    "`zstack:insecure`",
)


@dataclasses.dataclass(frozen=True)
class Tls:
    """How the server's certificate is issued and what the stack trusts."""

    cert_for: tuple[str, ...] = BOTH_NAMES
    host: str = "127.0.0.1"
    """`zstack:host`: the name the provider connects by."""
    trust: Literal["server CA", "another CA", "nothing"] = "server CA"
    """`zstack:caCertFile`: the CA that issued the server's certificate, an unrelated CA, or unset."""
    insecure: bool = False


def _https_stack(
    tls: Tls, workspace: PulumiWorkspace, serve_simulator: ServeSimulator, tmp_path: Path
) -> ZStackStack:
    material = TlsMaterial.generate(tmp_path / "server-tls", hosts=tls.cert_for)
    config = {"zstack:host": tls.host}
    if tls.trust == "server CA":
        config["zstack:caCertFile"] = str(material.ca_file)
    elif tls.trust == "another CA":
        config["zstack:caCertFile"] = str(TlsMaterial.generate(tmp_path / "other-tls").ca_file)
    if tls.insecure:
        config["zstack:insecure"] = "true"
    stack = start_stack(workspace, serve_simulator, tmp_path / "project", tls=material, plain=config)
    stack.write_program(program(vm_backup()))
    return stack


def _preview_plans_the_create_without_contacting_zstack(stack: ZStackStack) -> None:
    assert [step["op"] for step in stack.preview().steps()] == ["create"]
    assert stack.requests() == [], "preview contacted ZStack"


@pytest.mark.parametrize(
    "tls",
    [
        pytest.param(Tls(), id="trusted-ca-by-ip"),
        pytest.param(Tls(host="localhost"), id="trusted-ca-by-name"),
        pytest.param(Tls(trust="nothing", insecure=True), id="insecure-without-ca"),
        pytest.param(
            Tls(cert_for=("zstack.example.test",), trust="nothing", insecure=True), id="insecure-other-name"
        ),
    ],
)
def test_up_and_destroy_work_over_https(
    tls: Tls,
    pulumi_workspace: PulumiWorkspace,
    serve_simulator: ServeSimulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    stack = _https_stack(tls, pulumi_workspace, serve_simulator, tmp_path)
    assert stack.zstack.scheme == "https"
    _preview_plans_the_create_without_contacting_zstack(stack)

    stack.up()

    backups = stack.resources()
    assert list(stack.live_groups()) == [r["id"] for r in backups]
    assert [r["outputs"]["status"] for r in backups] == ["Ready"]
    assert [r.api for r in stack.writes()] == ["CreateVmBackup", "CreateUserTag"]

    stack.destroy()

    assert stack.live_groups() == {}
    assert stack.resources() == []
    note(request, f"up created group over https to {tls.host}, destroy deleted it")


@pytest.mark.parametrize(
    ("tls", "problem"),
    [
        pytest.param(
            Tls(trust="nothing"),
            "certificate verify failed: unable to get local issuer certificate",
            id="no-ca-no-insecure",
        ),
        pytest.param(
            Tls(trust="another CA"),
            "certificate verify failed: unable to get local issuer certificate",
            id="another-ca",
        ),
        pytest.param(
            Tls(cert_for=("localhost",)),
            "IP address mismatch, certificate is not valid for '127.0.0.1'",
            id="cert-for-localhost-reached-by-ip",
        ),
        pytest.param(
            Tls(cert_for=("127.0.0.1",), host="localhost"),
            "Hostname mismatch, certificate is not valid for 'localhost'",
            id="cert-for-ip-reached-by-localhost",
        ),
    ],
)
def test_a_refused_certificate_fails_up_clearly_and_nothing_is_created(
    tls: Tls,
    problem: str,
    pulumi_workspace: PulumiWorkspace,
    serve_simulator: ServeSimulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    stack = _https_stack(tls, pulumi_workspace, serve_simulator, tmp_path)
    _preview_plans_the_create_without_contacting_zstack(stack)

    up = stack.run(["up", "--skip-preview"], check=False)

    text = cli_text(up)
    assert up.returncode != 0, tail(text)
    headline = f"The TLS certificate of ZStack at {tls.host}:{stack.zstack.port} could not be verified"
    missing = [expected for expected in (headline, problem, *FIX_HINT) if expected not in text]
    assert not missing, f"the output does not say {missing}:\n{tail(text)}"
    assert stack.requests() == [], "a request got through although the certificate was refused"
    assert stack.live_groups() == {}
    assert stack.resources() == []
    note(
        request,
        f"up exit {up.returncode}: {problem!r}, names zstack:caCertFile and zstack:insecure; no request",
    )


def _stack_trusting_a_file_with_no_certificate(
    workspace: PulumiWorkspace, serve_simulator: ServeSimulator, tmp_path: Path
) -> tuple[ZStackStack, Path]:
    not_a_ca = tmp_path / "not-a-ca.pem"
    not_a_ca.write_text("not a certificate\n")
    stack = _https_stack(Tls(trust="nothing"), workspace, serve_simulator, tmp_path)
    stack.set_config({"zstack:caCertFile": str(not_a_ca)})
    return stack, not_a_ca


def test_a_ca_file_without_a_certificate_fails_up_naming_the_setting_and_nothing_is_created(
    pulumi_workspace: PulumiWorkspace,
    serve_simulator: ServeSimulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    stack, not_a_ca = _stack_trusting_a_file_with_no_certificate(pulumi_workspace, serve_simulator, tmp_path)

    up = stack.run(["up", "--skip-preview"], check=False)

    text = cli_text(up)
    assert up.returncode != 0, tail(text)
    missing = [expected for expected in (str(not_a_ca), "`zstack:caCertFile`") if expected not in text]
    assert not missing, f"the output does not say {missing}:\n{tail(text)}"
    assert stack.requests() == []
    assert stack.live_groups() == {}
    assert stack.resources() == []
    note(request, f"up exit {up.returncode}, names the file and zstack:caCertFile; no request")


def test_a_ca_file_without_a_certificate_fails_preview(
    pulumi_workspace: PulumiWorkspace,
    serve_simulator: ServeSimulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    stack, not_a_ca = _stack_trusting_a_file_with_no_certificate(pulumi_workspace, serve_simulator, tmp_path)

    preview = stack.run(["preview"], check=False)

    text = cli_text(preview)
    assert preview.returncode != 0, tail(text)
    assert "property zstack:caCertFile value" in text
    assert str(not_a_ca) in text
    assert stack.requests() == []
    assert stack.live_groups() == {}
    note(request, f"preview exit {preview.returncode}, names zstack:caCertFile and the file; no request")
