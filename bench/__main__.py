"""Fleet benchmark, real Pulumi CLI against the ZStack simulator: `python -m bench [--only KEY ...]`.

Every case runs the same fleet twice in one go: once as VmBackups (or VmBackupSchedules), once as
`bench.noop.Sleeper`, a dynamic resource whose create only sleeps as long as the ZStack job it stands for
takes, on a host pool widened alike; `preview200yaml` instead compares the same VmBackups in Pulumi YAML,
through the zstack plugin, with the Python program through the dynamic door. The table it prints
(markdown) puts each figure beside its target; docs/benchmarks.md holds a run and the machine it ran on.
Figures are wall-clock times of whole CLI commands, so they include the engine's own start-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_zstack_provider import VmBackupScheduleProperties
from zstack_simulator import RunningSimulator, Settings, Simulator, StateData, seed, serve

from tests.fixtures.engine import (
    ProvidedEngine,
    isolated_env,
    provide_engine,
    provide_yaml_engine,
    write_project,
)

from .noop import WORKERS_VARIABLE

REPO = Path(__file__).resolve().parents[1]
CLI_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Run:
    seconds: float
    provider_peak_rss_mib: float | None
    output: str


@dataclass
class Row:
    case: str
    zstack: str
    noop: str
    target: str
    verdict: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def add(self, case: str, zstack: str, noop: str, target: str, met: bool | None) -> None:
        verdict = "" if met is None else ("met" if met else "**missed**")
        self.rows.append(Row(case, zstack, noop, target, verdict))
        print(f"  {case}: {zstack} | {noop} | {target} {verdict}", file=sys.stderr, flush=True)

    def markdown(self) -> str:
        lines = [
            "| case | pulumi-zstack | same program, no-op resource | target | |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {r.case} | {r.zstack} | {r.noop} | {r.target} | {r.verdict} |" for r in self.rows]
        return "\n".join(lines)


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        children = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= children
        frontier = children
    return found


def _provider_hwm_kib(root: int) -> int:
    """The largest peak RSS (VmHWM) among the dynamic-provider hosts started under process `root`."""
    peak = 0
    for pid in _descendants(root):
        try:
            if b"pulumi.dynamic" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            peak = max(peak, int(match.group(1)))
    return peak


class Workspace:
    """One Pulumi home and file backend; projects under `root`."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        home, backend = root / "home", root / "backend"
        home.mkdir()
        backend.mkdir()
        self.env = isolated_env(bin_dir, home, backend)
        self.env = {k: v for k, v in self.env.items() if not k.startswith("ZSTACK_")}
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))

    def run(self, args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> Run:
        command = [str(self.bin_dir / "pulumi"), "--non-interactive", *args]
        started = time.perf_counter()
        with tempfile.TemporaryFile() as out:
            process = subprocess.Popen(
                command, cwd=cwd, env={**self.env, **(env or {})}, stdout=out, stderr=subprocess.STDOUT
            )
            peak = 0
            while process.poll() is None:
                peak = max(peak, _provider_hwm_kib(process.pid))
                if time.perf_counter() - started > CLI_TIMEOUT_S:
                    process.kill()
                time.sleep(0.2)
            seconds = time.perf_counter() - started
            out.seek(0)
            output = out.read().decode(errors="replace")
        if process.returncode != 0:
            shown = " ".join(args)
            raise RuntimeError(f"`pulumi {shown}` exited with {process.returncode}:\n{output[-3000:]}")
        return Run(seconds, peak / 1024 if peak else None, output)

    def project(self, name: str, program: str, env: Mapping[str, str] | None = None) -> Path:
        directory = write_project(self.root / name, name, {"__main__.py": program})
        self.run(["stack", "init", "bench"], directory, env)
        return directory


def zstack_program(count: int) -> str:
    return f"""
        import pulumi_zstack as zstack

        for i in range({count}):
            zstack.VmBackup(
                f"vm-{{i}}",
                root_volume_uuid={seed.RUNNING_VM_ROOT_VOLUME_UUID!r},
                backup_storage_uuid={seed.IMAGESTORE_BS_UUID!r},
                name=f"fleet-{{i}}",
            )
    """


def yaml_program(name: str, plugin: Path, count: int) -> str:
    """`zstack_program`'s VmBackups in Pulumi YAML, through the zstack plugin at `plugin`. The uuids are
    quoted: all digits, YAML would read them as numbers."""
    resources = "".join(
        f"  vm-{i}:\n"
        "    type: zstack:index:VmBackup\n"
        "    properties:\n"
        f'      rootVolumeUuid: "{seed.RUNNING_VM_ROOT_VOLUME_UUID}"\n'
        f'      backupStorageUuid: "{seed.IMAGESTORE_BS_UUID}"\n'
        f"      name: fleet-{i}\n"
        for i in range(count)
    )
    return f"name: {name}\nruntime: yaml\npackages:\n  zstack: {plugin}\nresources:\n{resources}"


def noop_program(count: int, seconds: float) -> str:
    return f"""
        from bench.noop import Sleeper

        for i in range({count}):
            Sleeper(f"vm-{{i}}", {seconds!r})
    """


#: The fleet's VMs and root volumes: kind digit, then a UUID v4 layout whose variant digit (9) no default
#: seed uuid uses, then the index.
FLEET_VM_PREFIX = "10000000000040009"
FLEET_ROOT_VOLUME_PREFIX = "20000000000040009"


def fleet_seed(count: int) -> StateData:
    """The default seed plus `count` running VMs like build-01 (root volume only), one schedule each."""
    data = seed.default_seed()
    vm = next(v for v in data.vm_instances if v.uuid == seed.ROOT_ONLY_VM_UUID)
    root = next(v for v in data.volumes if v.uuid == seed.ROOT_ONLY_VM_ROOT_VOLUME_UUID)
    vms, roots = [], []
    for i in range(count):
        vm_uuid = f"{FLEET_VM_PREFIX}{i:015x}"
        vms.append(vm.model_copy(update={"uuid": vm_uuid, "name": f"app-{i:03d}", "vm_nics": []}))
        volume = {"uuid": f"{FLEET_ROOT_VOLUME_PREFIX}{i:015x}", "vm_instance_uuid": vm_uuid}
        roots.append(root.model_copy(update={**volume, "name": f"ROOT-for-app-{i:03d}"}))
    fleet = data.model_copy(update={"vm_instances": data.vm_instances + vms, "volumes": data.volumes + roots})
    fleet.check()
    return fleet


#: What each schedule of the fleet asks for: nightly, keep a week.
SCHEDULE_INPUTS = {"cron": "0 0 2 * * ?", "retention_count": 7}


def schedule_program(count: int) -> str:
    return f"""
        import pulumi_zstack as zstack

        for i in range({count}):
            zstack.VmBackupSchedule(
                f"vm-{{i}}",
                root_volume_uuid=f"{FLEET_ROOT_VOLUME_PREFIX}{{i:015x}}",
                backup_storage_uuids=[{seed.IMAGESTORE_BS_UUID!r}],
                name=f"nightly-{{i}}",
                **{SCHEDULE_INPUTS!r},
            )
    """


def noop_schedule_program(count: int, seconds: float) -> str:
    """The same inputs as `schedule_program` registers: every property of the model, the owner strings the
    SDK adds, the user's values; carried by a Sleeper."""
    unset = dict.fromkeys(p.name for p in VmBackupScheduleProperties.properties())
    return f"""
        import pulumi
        from bench.noop import Sleeper

        project, stack = pulumi.get_project(), pulumi.get_stack()
        urn = f"urn:pulumi:{{stack}}::{{project}}::pulumi-python:dynamic/zstack:VmBackupSchedule::"
        for i in range({count}):
            Sleeper(
                f"vm-{{i}}",
                {seconds!r},
                {{
                    **{unset!r},
                    "owner_stack": f"organization/{{project}}/{{stack}}",
                    "owner_urn": f"{{urn}}vm-{{i}}",
                    "root_volume_uuid": f"{FLEET_ROOT_VOLUME_PREFIX}{{i:015x}}",
                    "backup_storage_uuids": [{seed.IMAGESTORE_BS_UUID!r}],
                    "name": f"nightly-{{i}}",
                    **{SCHEDULE_INPUTS!r},
                }},
            )
    """


#: How long the other async APIs (the user tag that marks a backup as recorded, deletes) take: a database
#: write in ZStack, not a backup.
OTHER_JOB_SECONDS = 0.1


BACKUP_CREATE_PATH = "/zstack/v1/volumes/*/vm-backups"
SCHEDULER_JOB_CREATE_PATH = "/zstack/v1/scheduler/jobs"


@contextmanager
def simulator(
    job_seconds: float, create_path: str = BACKUP_CREATE_PATH, data: StateData | None = None
) -> Iterator[RunningSimulator]:
    """A simulator whose creates at `create_path` take `job_seconds`; every other job OTHER_JOB_SECONDS."""
    sim = Simulator(Settings(job_seconds=OTHER_JOB_SECONDS, job_polls=None), seed=data)
    sim.faults.job_duration(seconds=job_seconds, method="POST", path=create_path, count=None)
    with serve(sim) as running:
        yield running


def zstack_env(running: RunningSimulator, concurrency: int) -> dict[str, str]:
    return {
        "ZSTACK_HOST": running.host,
        "ZSTACK_PORT": str(running.port),
        "ZSTACK_ACCOUNT_NAME": seed.ADMIN_ACCOUNT_NAME,
        "ZSTACK_ACCOUNT_PASSWORD": seed.ADMIN_PASSWORD,
        "ZSTACK_MAX_CONCURRENT_OPERATIONS": str(concurrency),
    }


def count_api(running: RunningSimulator, api: str) -> int:
    return sum(1 for r in running.simulator.requests() if r.api == api)


def fmt_s(run: Run) -> str:
    return f"{run.seconds:.1f} s"


def fmt_runs(samples: Sequence[float]) -> str:
    """The median, then every run in the order they ran."""
    return f"{statistics.median(samples):.1f} s [{', '.join(f'{s:.1f}' for s in samples)}]"


def most_in_flight(jobs: Sequence[Mapping[str, Any]]) -> int:
    """The largest number of jobs that were running at the same moment, from the simulator's job records."""
    # At equal times an end sorts before a start: a job seen done as another is submitted did not overlap.
    events = sorted([(job["doneAt"], -1) for job in jobs] + [(job["submittedAt"], 1) for job in jobs])
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


class Benchmark:
    def __init__(self, workspace: Workspace, report: Report) -> None:
        self.ws = workspace
        self.report = report
        self._yaml_ws: Workspace | None = None

    def yaml_workspace(self) -> Workspace:
        """A workspace on the engine with Pulumi YAML's language host beside it (provide-yaml-host)."""
        if self._yaml_ws is None:
            provided = provide_yaml_engine(ProvidedEngine(self.ws.bin_dir, None))
            if provided.bin_dir is None:
                raise RuntimeError(f"Pulumi YAML's language host could not be provided: {provided.error}")
            root = self.ws.root / "yaml"
            root.mkdir()
            self._yaml_ws = Workspace(provided.bin_dir, root)
            # The checkout on PYTHONPATH holds pulumi_zstack.egg-info, which would make pip in the plugin's
            # venv take the bundled wheel as installed already; neither side of the YAML case needs it.
            self._yaml_ws.env.pop("PYTHONPATH")
        return self._yaml_ws

    def install_plugin(self, ws: Workspace) -> Path:
        """The zstack plugin as a release ships it (scripts/build-plugin's tarball, unpacked), with `pulumi
        install` run once in a project that names it, as a user does; untimed. The plugin directory."""
        release = ws.root / "release"
        built = subprocess.run(
            ["bash", str(REPO / "scripts" / "build-plugin"), str(release)],
            env={**os.environ, "PYTHON": sys.executable},
            capture_output=True,
            text=True,
            check=True,
        )
        with tarfile.open(built.stdout.strip().splitlines()[-1]) as archive:
            archive.extractall(ws.root / "plugins", filter="data")
        plugin = ws.root / "plugins" / "zstack"
        project = ws.root / "install"
        project.mkdir()
        (project / "Pulumi.yaml").write_text(yaml_program("install", plugin, 1))
        started = time.perf_counter()
        ws.run(["install"], project)
        print(f"  pulumi install of the plugin: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return plugin

    def fleet_up(
        self,
        key: str,
        count: int,
        job_seconds: float,
        parallel: int,
        target_s: float,
        *,
        existing: bool = False,
    ) -> None:
        flags = ["--parallel", str(parallel)]
        concurrency = parallel
        noop_env = {WORKERS_VARIABLE: str(concurrency)}
        with simulator(job_seconds) as running:
            env = zstack_env(running, concurrency)
            ours = self.ws.project(f"{key}-zstack", zstack_program(count), env)
            theirs = self.ws.project(f"{key}-noop", noop_program(count, job_seconds), noop_env)
            running.simulator.clear_requests()
            up = self.ws.run(["up", "--skip-preview", *flags], ours, env)
            logins = count_api(running, "LogInByAccount")
            noop_up = self.ws.run(["up", "--skip-preview", *flags], theirs, noop_env)
            self.report.add(
                f"`up` of {count} VmBackups, {job_seconds:g} s jobs (`--parallel {parallel}`, "
                f"maxConcurrentOperations {concurrency})",
                fmt_s(up),
                fmt_s(noop_up),
                f"≤ {target_s:g} s",
                up.seconds <= target_s,
            )
            if not existing:
                return
            self.report.add("logins per `up`", str(logins), "", "1", logins == 1)
            running.simulator.clear_requests()
            preview = self.ws.run(["preview", *flags], ours, env)
            preview_requests = len(running.simulator.requests())
            noop_preview = self.ws.run(["preview", *flags], theirs, noop_env)
            ratio = preview.seconds / noop_preview.seconds
            self.report.add(
                f"`preview` of {count} existing (ZStack requests: {preview_requests})",
                f"{fmt_s(preview)} ({ratio:.2f}x)",
                fmt_s(noop_preview),
                "≤ 1.2x no-op",
                ratio <= 1.2,
            )
            running.simulator.clear_requests()
            refresh = self.ws.run(["refresh", "--skip-preview", *flags], ours, env)
            queries = count_api(running, "QueryVolumeBackup") / count
            noop_refresh = self.ws.run(["refresh", "--skip-preview", *flags], theirs, noop_env)
            ratio = refresh.seconds / noop_refresh.seconds
            self.report.add(
                f"`refresh` of {count}",
                f"{fmt_s(refresh)} ({ratio:.2f}x), {queries:g} query per resource",
                fmt_s(noop_refresh),
                "≤ 1.2x no-op, ≤ 1 query per resource",
                ratio <= 1.2 and queries <= 1,
            )

    def preview_new(self, count: int) -> None:
        with simulator(1.0) as running:
            env = zstack_env(running, 64)
            ours = self.ws.project(f"preview{count}-zstack", zstack_program(count), env)
            theirs = self.ws.project(f"preview{count}-noop", noop_program(count, 1.0), {})
            running.simulator.clear_requests()
            preview = self.ws.run(["preview", "--parallel", "64"], ours, env)
            requests = len(running.simulator.requests())
            noop_preview = self.ws.run(["preview", "--parallel", "64"], theirs, {})
        ratio = preview.seconds / noop_preview.seconds
        self.report.add(
            f"`preview` of {count} new (ZStack requests: {requests})",
            f"{fmt_s(preview)} ({ratio:.2f}x)",
            fmt_s(noop_preview),
            "≤ 1.15x no-op",
            ratio <= 1.15,
        )

    def _previews(
        self,
        running: RunningSimulator,
        projects: tuple[Path, Path],
        envs: tuple[Mapping[str, str], Mapping[str, str]],
        flags: Sequence[str],
        repeats: int,
    ) -> tuple[float, float, int]:
        """Median seconds of ours and of the no-op, run in turns so that both see the same load, and the
        most ZStack requests one of our previews made."""
        ours, theirs, most_requests = [], [], 0
        for _ in range(repeats):
            running.simulator.clear_requests()
            ours.append(self.ws.run(["preview", *flags], projects[0], envs[0]).seconds)
            most_requests = max(most_requests, len(running.simulator.requests()))
            theirs.append(self.ws.run(["preview", *flags], projects[1], envs[1]).seconds)
        return statistics.median(ours), statistics.median(theirs), most_requests

    def schedule_previews(self, count: int, parallel: int, target_ratio: float, repeats: int = 3) -> None:
        """`preview` of `count` new VmBackupSchedules, then, once they exist, of the same with no change."""
        flags = ["--parallel", str(parallel)]
        envs: tuple[Mapping[str, str], Mapping[str, str]]
        with simulator(OTHER_JOB_SECONDS, SCHEDULER_JOB_CREATE_PATH, fleet_seed(count)) as running:
            envs = zstack_env(running, parallel), {WORKERS_VARIABLE: str(parallel)}
            projects = (
                self.ws.project(f"preview{count}sched-zstack", schedule_program(count), envs[0]),
                self.ws.project(
                    f"preview{count}sched-noop", noop_schedule_program(count, OTHER_JOB_SECONDS), envs[1]
                ),
            )
            for existing in (False, True):
                if existing:
                    for project, env in zip(projects, envs, strict=True):
                        self.ws.run(["up", "--skip-preview", *flags], project, env)
                    made = len(running.simulator.scheduler_jobs())
                    if made != count:
                        raise RuntimeError(f"`up` made {made} scheduler jobs, not {count}")
                    flags.append("--expect-no-changes")
                ours_s, noop_s, requests = self._previews(running, projects, envs, flags, repeats)
                ratio = ours_s / noop_s
                what = "existing VmBackupSchedules, no changes" if existing else "new VmBackupSchedules"
                self.report.add(
                    f"`preview` of {count} {what} (`--parallel {parallel}`, "
                    f"median of {repeats}; ZStack requests: {requests})",
                    f"{ours_s:.1f} s ({ratio:.2f}x)",
                    f"{noop_s:.1f} s",
                    f"≤ {target_ratio:g}x no-op, 0 requests",
                    ratio <= target_ratio and requests == 0,
                )

    def yaml_previews(self, count: int, parallel: int, target_ratio: float, repeats: int = 3) -> None:
        """`preview` of `count` new VmBackups declared in Pulumi YAML (the zstack plugin) and in Python (the
        dynamic door), then of the same once they exist, with no change; the YAML figure against the Python
        one. Both projects run on one workspace, so one engine, one Pulumi home and one backend."""
        ws = self.yaml_workspace()
        plugin = self.install_plugin(ws)
        self.plugin_start_up(plugin)
        flags = ["--parallel", str(parallel)]
        with simulator(OTHER_JOB_SECONDS) as running:
            env = zstack_env(running, parallel)
            yaml_project = ws.root / f"preview{count}yaml"
            yaml_project.mkdir()
            (yaml_project / "Pulumi.yaml").write_text(yaml_program(yaml_project.name, plugin, count))
            ws.run(["stack", "init", "bench"], yaml_project, env)
            python_project = write_project(
                ws.root / f"preview{count}dynamic",
                f"preview{count}dynamic",
                {"__main__.py": zstack_program(count)},
            )
            ws.run(["stack", "init", "bench"], python_project, env)
            for existing in (False, True):
                if existing:
                    for project in (yaml_project, python_project):
                        up = ws.run(["up", "--skip-preview", *flags], project, env)
                        print(f"  up of {project.name}: {fmt_s(up)}", file=sys.stderr)
                    groups = {b["groupUuid"] for b in running.simulator.backups() if b["status"] != "Deleted"}
                    if len(groups) != 2 * count:
                        raise RuntimeError(f"the two `up`s made {len(groups)} backup groups, not {2 * count}")
                    flags.append("--expect-no-changes")
                yaml_s: list[float] = []
                dynamic_s: list[float] = []
                yaml_requests: list[int] = []
                dynamic_requests: list[int] = []
                for _ in range(repeats):
                    for project, seconds, requests in (
                        (yaml_project, yaml_s, yaml_requests),
                        (python_project, dynamic_s, dynamic_requests),
                    ):
                        running.simulator.clear_requests()
                        seconds.append(ws.run(["preview", *flags], project, env).seconds)
                        requests.append(len(running.simulator.requests()))
                ratio = statistics.median(yaml_s) / statistics.median(dynamic_s)
                what = "existing VmBackups, no changes" if existing else "new VmBackups"
                self.report.add(
                    f"`preview` of {count} {what}, Pulumi YAML (zstack plugin) against Python (dynamic door) "
                    f"(`--parallel {parallel}`, median of {repeats}; ZStack requests per preview: YAML "
                    f"{' '.join(map(str, yaml_requests))}, Python {' '.join(map(str, dynamic_requests))})",
                    f"YAML {fmt_runs(yaml_s)} ({ratio:.2f}x)",
                    f"dynamic door {fmt_runs(dynamic_s)}",
                    f"≤ {target_ratio:g}x the dynamic door, 0 requests",
                    ratio <= target_ratio and not any(yaml_requests + dynamic_requests),
                )

    def plugin_start_up(self, plugin: Path, repeats: int = 7) -> None:
        """What starting the plugin costs, on its own venv: the import of the native provider against
        `import pulumi`, the time until it prints its port (as the engine waits for), and the schema it
        serves."""
        python = str(plugin / "venv" / "bin" / "python")

        def import_s(statement: str) -> float:
            code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
            return statistics.median(
                float(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)
                for _ in range(repeats)
            )

        def serving_s() -> float:
            # The engine's address is never dialled before the first log line; nothing listens on port 9.
            started = time.perf_counter()
            with subprocess.Popen(
                [python, str(plugin), "127.0.0.1:9"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            ) as process:
                assert process.stdout is not None
                process.stdout.readline()
                seconds = time.perf_counter() - started
                process.kill()
            return seconds

        pulumi_s = import_s("import pulumi")
        native_s = import_s("import pulumi_zstack_provider.native")
        port_s = statistics.median(serving_s() for _ in range(repeats))
        schema = subprocess.run(
            [
                python,
                "-c",
                "from pulumi_zstack_provider._package_schema import package_schema_json as s; "
                "import sys, time; t = time.perf_counter(); n = len(s().encode()); "
                "print(n, time.perf_counter() - t)",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        self.report.add(
            f"plugin start-up, its own venv (median of {repeats}): import of the native provider; "
            "launch to port printed; GetSchema answer",
            f"{native_s:.2f} s ({native_s / pulumi_s:.2f}x `import pulumi`); {port_s:.2f} s; "
            f"{int(schema[0]) / 1024:.0f} KiB built in {float(schema[1]) * 1000:.0f} ms",
            f"`import pulumi` {pulumi_s:.2f} s",
            "(measured)",
            None,
        )

    def schedule_up(self, count: int, job_seconds: float, parallel: int, target_s: float) -> None:
        """`up` of `count` VmBackupSchedules whose CreateSchedulerJob takes `job_seconds` in ZStack: side by
        side means the scheduler jobs overlap, and the `up` takes about one job, not `count` of them."""
        flags = ["--parallel", str(parallel)]
        noop_env = {WORKERS_VARIABLE: str(parallel)}
        with simulator(job_seconds, SCHEDULER_JOB_CREATE_PATH, fleet_seed(count)) as running:
            env = zstack_env(running, parallel)
            ours = self.ws.project(f"up{count}sched-zstack", schedule_program(count), env)
            theirs = self.ws.project(
                f"up{count}sched-noop", noop_schedule_program(count, job_seconds), noop_env
            )
            running.simulator.clear_requests()
            up = self.ws.run(["up", "--skip-preview", *flags], ours, env)
            requests = len(running.simulator.requests())
            jobs = running.simulator.jobs()
            noop_up = self.ws.run(["up", "--skip-preview", *flags], theirs, noop_env)
        failed = [j for j in jobs if j["state"] != "done" or j["errorCode"] is not None]
        if failed:
            raise RuntimeError(f"ZStack jobs of the `up` failed or never ended: {failed[:3]}")
        creates = [j for j in jobs if j["api"] == "CreateSchedulerJob"]
        if len(creates) != count:
            raise RuntimeError(f"`up` submitted {len(creates)} CreateSchedulerJob, not {count}")
        peak = most_in_flight(creates)
        serial_s = sum(j["doneAt"] - j["submittedAt"] for j in jobs)
        self.report.add(
            f"`up` of {count} VmBackupSchedules, CreateSchedulerJob takes {job_seconds:g} s "
            f"(`--parallel {parallel}`, maxConcurrentOperations {parallel})",
            f"{fmt_s(up)}, {requests / count:.1f} ZStack requests per schedule",
            fmt_s(noop_up),
            f"≤ {target_s:g} s",
            up.seconds <= target_s,
        )
        self.report.add(
            f"side by side: CreateSchedulerJob running at once in that `up`; its {len(jobs)} ZStack jobs "
            "one after another",
            f"{peak} of {count}; {serial_s:.0f} s, {serial_s / up.seconds:.0f}x the `up`",
            "",
            f"all {count} at once",
            peak == count,
        )

    def memory(self, count: int, job_seconds: float) -> None:
        flags = ["--parallel", "64"]
        with simulator(job_seconds) as running:
            env = zstack_env(running, 64)
            noop_env = {WORKERS_VARIABLE: "64"}
            ours = self.ws.project(f"memory{count}-zstack", zstack_program(count), env)
            theirs = self.ws.project(f"memory{count}-noop", noop_program(count, job_seconds), noop_env)
            up = self.ws.run(["up", "--skip-preview", *flags], ours, env)
            noop_up = self.ws.run(["up", "--skip-preview", *flags], theirs, noop_env)
        self.report.add(
            f"provider process peak RSS, `up` of {count} ({job_seconds:g} s jobs, `--parallel 64`)",
            f"{up.provider_peak_rss_mib or 0:.0f} MiB (up took {fmt_s(up)})",
            f"{noop_up.provider_peak_rss_mib or 0:.0f} MiB (up took {fmt_s(noop_up)})",
            "(measured)",
            None,
        )

    def imports(self, repeats: int = 7) -> None:
        def seconds(statement: str) -> float:
            code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
            samples = [
                float(
                    subprocess.run(
                        [sys.executable, "-c", code], capture_output=True, text=True, check=True
                    ).stdout
                )
                for _ in range(repeats)
            ]
            return statistics.median(samples)

        pulumi_s = seconds("import pulumi")
        provider_s = seconds("import pulumi_zstack_provider.providers")
        ratio = provider_s / pulumi_s
        self.report.add(
            f"import of the provider (median of {repeats} fresh interpreters)",
            f"{provider_s:.2f} s ({ratio:.2f}x `import pulumi`)",
            f"`import pulumi` {pulumi_s:.2f} s",
            "≤ 1.3x",
            ratio <= 1.3,
        )


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


CASES: dict[str, Callable[[Benchmark], None]] = {
    "up40": lambda b: b.fleet_up("up40", 40, 5.0, 64, 12.0, existing=True),
    "up20": lambda b: b.fleet_up("up20", 20, 3.0, 64, 6.0),
    "up100": lambda b: b.fleet_up("up100", 100, 10.0, 128, 20.0),
    "preview500": lambda b: b.preview_new(500),
    "memory500": lambda b: b.memory(500, 1.0),
    "imports": lambda b: b.imports(),
    "preview200sched": lambda b: b.schedule_previews(200, 64, 1.2),
    "up100sched": lambda b: b.schedule_up(100, 10.0, 128, 20.0),
    "preview200yaml": lambda b: b.yaml_previews(200, 64, 1.2),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(CASES), help="run only these cases")
    args = parser.parse_args(argv)
    provided = provide_engine()
    if provided.bin_dir is None:
        print(f"the Pulumi engine could not be provided: {provided.error}", file=sys.stderr)
        return 1
    version = subprocess.run(
        [str(provided.bin_dir / "pulumi"), "version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    report = Report()
    load_before = load()
    root = Path(tempfile.mkdtemp(prefix="pulumi-zstack-bench-"))
    try:
        bench = Benchmark(Workspace(provided.bin_dir, root), report)
        for key in args.only or list(CASES):
            print(f"== {key}", file=sys.stderr, flush=True)
            CASES[key](bench)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"Machine: {machine()}; Pulumi CLI {version}.")
    print(f"Load average (1, 5, 15 min): {load_before} before, {load()} after.\n")
    print(report.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
