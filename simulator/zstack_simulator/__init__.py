"""A local ZStack Cloud REST API simulator for VM backups (`CreateVmBackup` and friends) and VM restores.

In-process use::

    from zstack_simulator import Settings, Simulator, serve

    with serve(Simulator(Settings.fast())) as running:
        ...  # talk to running.base_url + "/zstack/v1"; inject faults with running.simulator.faults

See docs/simulator.md for the routes, the admin API, the seed format and the quirks reproduced.
"""

from ._app import create_app
from ._auth import access_key_signature, sha512_hex
from ._clock import Clock
from ._faults import FaultKind, FaultRule, Faults
from ._model import StateData
from ._server import RunningSimulator, TlsMaterial, serve
from ._settings import Settings
from ._simulator import Credentials, RecordedRequest, Simulator
from ._wire import format_zstack_date, java_double, java_sql_timestamp, parse_zstack_date

__all__ = [
    "Clock",
    "Credentials",
    "FaultKind",
    "FaultRule",
    "Faults",
    "RecordedRequest",
    "RunningSimulator",
    "Settings",
    "Simulator",
    "StateData",
    "TlsMaterial",
    "access_key_signature",
    "create_app",
    "format_zstack_date",
    "java_double",
    "java_sql_timestamp",
    "parse_zstack_date",
    "serve",
    "sha512_hex",
]
