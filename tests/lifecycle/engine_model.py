"""The Pulumi engine and the provider process as the lifecycle model checkers play them.

`Engine` makes the calls `engine_traces.md` records, against the real provider classes, and keeps the state
as the engine does (a create or update that fails once its resource exists, e.g. a backup taken and its
offsite copy failed, is recorded with the outputs it hands back and fails the operation, as the CLI does with
ErrorResourceInitFailed); `KillSwitch` kills the provider process at a chosen request; `VirtualTime` moves
the simulator's clock where the client would sleep.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, Protocol, TypeVar
from unittest import mock

import httpx
from pulumi_zstack_provider import _provider as provider_module
from pulumi_zstack_provider._client import ConnectionSettings, ZStackClient
from pulumi_zstack_provider._ownership import handed_out
from pulumi_zstack_provider._resource import IncompleteOperation
from pulumi_zstack_provider._schema import ResourceModel
from zstack_simulator import RunningSimulator, Settings, Simulator, seed, serve

from tests.fixtures.lifecycle import Tally

T = TypeVar("T")


class Declaration(Protocol):
    """One resource of the program, as the engine sees it."""

    type: str
    replacement_trigger: int
    delete_before_replace: bool
    retain_on_delete: bool

    @property
    def urn(self) -> str: ...

    def inputs(self) -> dict[str, Any]: ...


class Killed(BaseException):
    """The provider process died: the request in flight never returns, whatever ZStack did with it."""


class KillSwitch(httpx.BaseTransport):
    """Real HTTP to the simulator, until the armed request: then the process dies before or after sending."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.countdown: int | None = None
        self.after_sending = False
        self.active = False  # only a provider operation dies; the checks read ZStack through the same client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.active and self.countdown is not None:
            if self.countdown == 0:
                self.countdown = None
                if self.after_sending:
                    self._inner.handle_request(request).close()
                raise Killed
            self.countdown -= 1
        return self._inner.handle_request(request)


@dataclasses.dataclass
class Held:
    """A resource in the state."""

    type: str
    id: str
    outputs: dict[str, Any]
    replacement_trigger: int
    retain_on_delete: bool


class OperationFailed(Exception):
    """The engine reported a failed step and stopped the operation, as the CLI does."""


class InitFailed(Exception):
    """A create or update failed after its resource came to exist: what the host reports to the engine as
    ErrorResourceInitFailed, with the resource's id and properties."""

    def __init__(self, message: str, resource_id: str, outputs: dict[str, Any]) -> None:
        super().__init__(message)
        self.resource_id = resource_id
        self.outputs = outputs


def _fail_initialisation(incomplete: IncompleteOperation, props: Mapping[str, Any]) -> NoReturn:
    # Outside Pulumi's host `_keep` returns the outputs with a warning (the operation would succeed); inside
    # it, the host fails the step and hands the engine these same outputs, which is what the CLI does.
    outputs = _keep_outside_the_host(incomplete, props)
    raise InitFailed(str(incomplete), incomplete.resource_id, outputs)


_keep_outside_the_host = provider_module._keep


class Engine:
    """The Pulumi engine's calls to the dynamic providers, per `engine_traces.md`, and the state it keeps."""

    def __init__(
        self,
        providers: Mapping[str, Any],
        client: ZStackClient,
        config: dict[str, str],
        switch: KillSwitch,
        tally: Tally,
    ) -> None:
        self.providers = providers
        self.client = client
        self.config = config
        self.switch = switch
        self.tally = tally
        self.state: dict[str, Held] = {}
        self.pending_deletes: list[Held] = []
        # The resource whose delete or update was in flight when the process died: what that call deleted
        # was asked for, and the state still lists it, as Pulumi's own state does until the next refresh.
        self.in_flight: Held | None = None
        self.interrupted: Held | None = None

    # -- one provider call; a dead process ends the operation
    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        self.tally.calls += 1
        return fn(*args)

    def _new_process(self) -> None:
        handed_out._ids.clear()  # every CLI run starts a provider process afresh
        provider_module._runtime.configure(self.config)
        provider_module._runtime._client = self.client

    def _provider(self, resource_type: str) -> Any:
        return self.providers[resource_type]()

    def operation(self, run: Callable[[], None]) -> str:
        """Run one CLI operation; return how it ended: "ok", "killed" or "failed"."""
        self._new_process()
        self.switch.active = True
        self.in_flight = self.interrupted = None
        try:
            with mock.patch.object(provider_module, "_keep", _fail_initialisation):
                run()
        except Killed:
            self.interrupted = self.in_flight
            return "killed"
        except OperationFailed:
            return "failed"
        finally:
            self.switch.active, self.switch.countdown = False, None
        return "ok"

    def _check(self, resource_type: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        result = self._call(self._provider(resource_type).check, olds, news)
        assert not result.failures, [f.reason for f in result.failures]
        return dict(result.inputs)

    def _create(self, decl: Declaration, record: Callable[[Held], None]) -> None:
        """Create `decl` and `record` it where the state keeps it; a create that fails after the resource
        came to exist is recorded too, and fails the operation."""
        checked = self._check(decl.type, {}, decl.inputs())
        try:
            made = self._call(self._provider(decl.type).create, checked)
        except InitFailed as failed:
            record(Held(decl.type, failed.resource_id, failed.outputs, *self._options(decl)))
            raise OperationFailed(str(failed)) from None
        except provider_module.ProviderError as error:
            raise OperationFailed(str(error)) from None
        record(Held(decl.type, made.id, dict(made.outs), *self._options(decl)))

    @staticmethod
    def _options(decl: Declaration) -> tuple[int, bool]:
        return decl.replacement_trigger, decl.retain_on_delete

    def _delete(self, held: Held) -> None:
        self.in_flight = held
        try:
            self._call(self._provider(held.type).delete, held.id, held.outputs)
        except provider_module.ProviderError as error:
            raise OperationFailed(str(error)) from None
        self.in_flight = None

    def up(self, program: Sequence[Declaration], replace: frozenset[str] = frozenset()) -> None:
        for held in list(self.pending_deletes):
            self._delete(held)
            self.pending_deletes.remove(held)
        for decl in program:
            current = self.state.get(decl.urn)
            if current is None:
                self._create(decl, self._recorder(decl.urn))
                continue
            news = self._check(decl.type, self._inputs_of(current), decl.inputs())
            forced = decl.urn in replace or decl.replacement_trigger != current.replacement_trigger
            if not forced:
                diff = self._call(self._provider(decl.type).diff, current.id, current.outputs, news)
                if not diff.replaces:
                    if diff.changes:
                        self.in_flight = current
                        try:
                            outs = self._call(
                                self._provider(decl.type).update, current.id, current.outputs, news
                            )
                        except InitFailed as failed:
                            current.outputs, self.in_flight = failed.outputs, None
                            raise OperationFailed(str(failed)) from None
                        except provider_module.ProviderError as error:
                            raise OperationFailed(str(error)) from None
                        current.outputs = dict(outs.outs or {})
                        self.in_flight = None
                    current.retain_on_delete = decl.retain_on_delete
                    continue
            current.retain_on_delete = decl.retain_on_delete
            if decl.delete_before_replace:
                if not current.retain_on_delete:
                    self._delete(current)
                del self.state[decl.urn]
                self._create(decl, self._recorder(decl.urn))
            else:
                # The engine marks the old resource for deletion once the replacement is recorded, even
                # when that create failed after its resource came to exist: the next `up` deletes it first.
                self._create(decl, self._recorder(decl.urn, replacing=current))
                if not current.retain_on_delete:
                    self._delete(current)
                    self.pending_deletes.remove(current)
        declared = {d.urn for d in program}
        for urn in [u for u in self.state if u not in declared]:
            held = self.state[urn]
            if not held.retain_on_delete:
                self._delete(held)
            del self.state[urn]

    def _recorder(self, urn: str, replacing: Held | None = None) -> Callable[[Held], None]:
        def record(held: Held) -> None:
            self.state[urn] = held
            if replacing is not None and not replacing.retain_on_delete:
                self.pending_deletes.append(replacing)

        return record

    def refresh(self) -> None:
        for urn, held in list(self.state.items()):
            try:
                read = self._call(self._provider(held.type).read, held.id, held.outputs)
            except provider_module.ProviderError as error:
                raise OperationFailed(str(error)) from None
            if not read.id:
                del self.state[urn]
            else:
                held.outputs = dict(read.outs)

    def destroy(self) -> None:
        self.up([])

    def _inputs_of(self, held: Held) -> dict[str, Any]:
        model: type[ResourceModel] = self.providers[held.type].definition.model
        return model.user_supplied(held.outputs)


class VirtualTime:
    """The client's clock and sleep: sleeping moves the simulator's clock instead of waiting."""

    def __init__(self, simulator: Simulator) -> None:
        self._simulator = simulator
        self._now = time.monotonic()

    def clock(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self._now += seconds
        self._simulator.clock.advance(seconds)


class ModelWorld:
    """What a model checker's sequence runs against: the simulator over real HTTP on 127.0.0.1, a client
    that sleeps in virtual time through a kill switch, and the engine over `providers`."""

    def __init__(self, providers: Mapping[str, Any], tally: Tally) -> None:
        self._serving = serve(Simulator(Settings(job_polls=0, job_seconds=None)))
        self.running: RunningSimulator = self._serving.__enter__()
        self.switch = KillSwitch()
        fake = VirtualTime(self.running.simulator)
        config = {
            "zstack:host": self.running.host,
            "zstack:port": str(self.running.port),
            "zstack:accountName": seed.ADMIN_ACCOUNT_NAME,
            "zstack:accountPassword": seed.ADMIN_PASSWORD,
        }
        settings = ConnectionSettings.resolve(config, {})
        self.client = ZStackClient(settings, transport=self.switch, clock=fake.clock, sleep=fake.sleep)
        self.engine = Engine(providers, self.client, config, self.switch, tally)

    def close(self) -> None:
        self.client.close()
        self._serving.__exit__(None, None, None)


def exported(urn: str, held: Held) -> dict[str, Any]:
    """A resource as `pulumi stack export` lists it."""
    return {"urn": urn, "type": held.type, "id": held.id, "outputs": held.outputs}
