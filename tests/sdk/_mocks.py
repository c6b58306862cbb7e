"""Pulumi's mock monitor, recording what each resource registers; shared by the SDK tests."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.registered[args.name] = dict(args.inputs)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class EngineUrns(MockMonitor):
    """URNs as the engine makes them (`Deployment.generateURN`): the parent's whole type chain, without the
    root stack's type. The stock mock keeps only the parent's last type and includes the stack's."""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent:
            qualified = parent.split("::")[2]
            if qualified != ROOT_STACK_TYPE:
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])


def use_mocks(project: str = "proj", stack: str = "dev", organization: str | None = None) -> RecordingMocks:
    """Run the next `pulumi.runtime.test` program under a recording mock monitor of that stack."""
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(
        recording,
        project=project,
        stack=stack,
        preview=False,
        monitor=EngineUrns(recording),
        organization=organization,
    )
    return recording
