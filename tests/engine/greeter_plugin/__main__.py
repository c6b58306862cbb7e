"""A minimal `pulumi.provider.experimental` provider, run from source by the Python language host.

`greeter:index:Greeting` writes `Hello, <who>!` into the file named by its `path` input and removes it on
delete, so a test sees what the engine really did. Every operation is also appended to `<path>.ledger`,
with the interpreter it ran on, so a test can tell the plugin ran in its own virtual environment.
"""

import json
import sys
from pathlib import Path

from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import (
    CheckRequest,
    CheckResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    GetSchemaRequest,
    GetSchemaResponse,
    Provider,
    ReadRequest,
    ReadResponse,
)
from pulumi.provider.experimental.server import main

NAME = "greeter"
VERSION = "0.3.0"
GREETING = f"{NAME}:index:Greeting"

SCHEMA = {
    "name": NAME,
    "version": VERSION,
    "resources": {
        GREETING: {
            "inputProperties": {"who": {"type": "string"}, "path": {"type": "string"}},
            "requiredInputs": ["who", "path"],
            "properties": {
                "who": {"type": "string"},
                "path": {"type": "string"},
                "message": {"type": "string"},
            },
            "required": ["who", "path", "message"],
        }
    },
}


def _record(path: str, operation: str) -> None:
    with open(path + ".ledger", "a") as ledger:
        ledger.write(json.dumps({"operation": operation, "python": sys.prefix}) + "\n")


class GreeterProvider(Provider):
    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        return GetSchemaResponse(schema=json.dumps(SCHEMA))

    async def check(self, request: CheckRequest) -> CheckResponse:
        return CheckResponse(inputs=request.new_inputs)

    async def diff(self, request: DiffRequest) -> DiffResponse:
        old, new = request.old_state, request.new_inputs
        changed = [key for key in ("who", "path") if old.get(key) != new.get(key)]
        return DiffResponse(changes=bool(changed), replaces=changed, delete_before_replace=True)

    async def create(self, request: CreateRequest) -> CreateResponse:
        who = str(request.properties["who"].value)
        path = str(request.properties["path"].value)
        message = f"Hello, {who}!"
        if not request.preview:
            _record(path, "create")
            Path(path).write_text(message)
        return CreateResponse(
            resource_id=f"greeting-{who}",
            properties={**request.properties, "message": PropertyValue(message)},
        )

    async def read(self, request: ReadRequest) -> ReadResponse:
        path = str(request.properties["path"].value)
        _record(path, "read")
        return ReadResponse(request.resource_id, request.properties, request.inputs)

    async def delete(self, request: DeleteRequest) -> None:
        path = str(request.properties["path"].value)
        _record(path, "delete")
        Path(path).unlink(missing_ok=True)


if __name__ == "__main__":
    main(sys.argv[1:], VERSION, GreeterProvider())
