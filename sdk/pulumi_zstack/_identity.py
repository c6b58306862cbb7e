"""The id a resource's first create uses, derived in the program so that a retry derives it again."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pulumi
from pulumi_zstack_provider import derived_id


def derived_identity(
    resource_name: str, inputs: dict[str, Any], *, exclude: Collection[str]
) -> pulumi.Output[str]:
    """An id from the organization, project, stack, resource name and the inputs that shape the object.

    `exclude` names inputs that do not (operation settings): changing a timeout must not change the id.
    """
    shaping = {k: v for k, v in inputs.items() if k not in exclude}
    scope = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}/{resource_name}"
    return pulumi.Output.all(**shaping).apply(lambda resolved: derived_id(scope, resolved))
