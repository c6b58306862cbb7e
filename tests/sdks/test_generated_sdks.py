"""The Go and TypeScript SDKs, generated from the package schema by the real CLI and compiled, never run.

`pulumi package gen-sdk provider/pulumi_zstack_provider/schema.json --language go|nodejs` writes each SDK
(through the stand-in SDK generators of `scripts/provide-sdk-generators`: Pulumi's Go and Node.js language
hosts are not available here). Then, as the README tells a user:

- Go: the program of `examples/go`, whose go.mod replaces the SDK's module with `./sdk/go` (the go.mod
  gen-sdk writes there), is built with `go mod tidy` and `go build` through the Go module proxy.
- TypeScript: the program of `examples/typescript` gets its pinned `@pulumi/pulumi`, `typescript` and
  `@types/node` from npm, the SDK is built with `tsc` (its own strict tsconfig), and the program is checked
  with `tsc --noEmit` (strict).

Each language also compiles a wrong program (a misspelled and a mistyped argument) and expects the compiler
to name both, and a contract generated from the schema: required inputs cannot be left out (TypeScript) or
are not optional types (Go), outputs the schema lists as required are not optional types, and secret inputs
are made secrets by the generated code. Both SDKs carry the package's name and version. `pulumi preview` of
either example is refused by the stand-in host with the reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.engine import REPO_ROOT, isolated_env

# A cold `go build` of a Pulumi program compiles the Go SDK and gRPC: minutes on two busy cores. The
# fixtures build from cold inside the first test of each language, so the test timeout covers them too.
BUILD_TIMEOUT_S = 1200.0
pytestmark = [pytest.mark.sdk, pytest.mark.timeout(2 * BUILD_TIMEOUT_S)]
# One worker per language, so each language's fixtures are made once.
GO = pytest.mark.xdist_group("sdk-go")
TYPESCRIPT = pytest.mark.xdist_group("sdk-typescript")

SCHEMA = REPO_ROOT / "provider" / "pulumi_zstack_provider" / "schema.json"
EXAMPLES = REPO_ROOT / "examples"
PROVIDE_SDK_GENERATORS = REPO_ROOT / "scripts" / "provide-sdk-generators"
# Downloads stay outside the repository, so a second run needs no network and little time: npm's cache
# here, Go's module and build caches where Go keeps them (`go env GOMODCACHE GOCACHE`).
NPM_CACHE = Path(os.environ.get("PULUMI_ZSTACK_NPM_CACHE", Path.home() / ".cache" / "pulumi-zstack" / "npm"))
# The engine may have to be built first (see tests/fixtures/engine.py).
PROVIDE_TIMEOUT_S = 45 * 60.0


@dataclass(frozen=True)
class Input:
    """One input property of a resource or of the provider, as the schema declares it."""

    name: str
    spec: Mapping[str, Any]
    required: bool

    @property
    def secret(self) -> bool:
        return bool(self.spec.get("secret"))


@dataclass(frozen=True)
class Output:
    """One property of a resource's state, as the schema declares it."""

    name: str
    spec: Mapping[str, Any]
    required: bool


@dataclass(frozen=True)
class Resource:
    token: str
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]

    @property
    def name(self) -> str:
        return self.token.rsplit(":", 1)[-1]


def _inputs(spec: Mapping[str, Any]) -> tuple[Input, ...]:
    required = set(spec.get("requiredInputs", ()))
    return tuple(
        Input(name, prop, name in required) for name, prop in sorted(spec.get("inputProperties", {}).items())
    )


def _outputs(spec: Mapping[str, Any]) -> tuple[Output, ...]:
    required = set(spec.get("required", ()))
    return tuple(
        Output(name, prop, name in required) for name, prop in sorted(spec.get("properties", {}).items())
    )


@dataclass(frozen=True)
class Schema:
    version: str
    resources: tuple[Resource, ...]
    provider_inputs: tuple[Input, ...]

    @staticmethod
    def load(path: Path) -> Schema:
        data = json.loads(path.read_text())
        return Schema(
            version=data["version"],
            resources=tuple(
                Resource(token, _inputs(spec), _outputs(spec))
                for token, spec in sorted(data.get("resources", {}).items())
            ),
            provider_inputs=_inputs(data.get("provider", {})),
        )


def _run(
    command: Sequence[str | Path], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(map(str, command))}` did not finish within {BUILD_TIMEOUT_S:.0f}s")


def _must(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if done.returncode != 0:
        shown = " ".join(str(part) for part in done.args)
        output = "\n".join((done.stdout + done.stderr).strip().splitlines()[-60:])
        pytest.fail(f"`{shown}` exited with {done.returncode}:\n{output}", pytrace=False)
    return done


def _fails(done: subprocess.CompletedProcess[str]) -> str:
    """The output of a run that had to fail: a compiler given a wrong program, a program that cannot run."""
    output = done.stdout + done.stderr
    shown = " ".join(str(part) for part in done.args)
    assert done.returncode != 0, f"`{shown}` succeeded where it had to fail:\n{output}"
    return output


@pytest.fixture(scope="module")
def schema() -> Schema:
    assert SCHEMA.is_file(), f"{SCHEMA.relative_to(REPO_ROOT)} is missing"
    return Schema.load(SCHEMA)


@pytest.fixture(scope="module")
def sdk_generators() -> Path:
    """The directory holding `pulumi` and the stand-in `pulumi-language-go` and `pulumi-language-nodejs`."""
    try:
        done = subprocess.run(
            ["bash", str(PROVIDE_SDK_GENERATORS)],
            capture_output=True,
            text=True,
            timeout=PROVIDE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{PROVIDE_SDK_GENERATORS} did not finish within {PROVIDE_TIMEOUT_S:.0f}s", pytrace=False)
    _must(done)
    return Path(done.stdout.strip().splitlines()[-1])


def _gen_sdk(generators: Path, language: str, out: Path, scratch: Path) -> Path:
    env = isolated_env(generators, scratch / "pulumi-home", scratch / "pulumi-backend")
    _must(
        _run(
            [generators / "pulumi", "package", "gen-sdk", SCHEMA, "--language", language, "--out", out],
            cwd=scratch,
            env=env,
        )
    )
    return out / language


def _copy_example(name: str, destination: Path) -> Path:
    ignored = shutil.ignore_patterns("sdk", "node_modules", "bin", "go.sum", "package-lock.json")
    shutil.copytree(EXAMPLES / name, destination, ignore=ignored)
    return destination


# --- Go ---------------------------------------------------------------------------------------------------

GO_ENV = {"GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local", "GOWORK": "off"}
# Go builds of these tests, in any worker or checkout, take turns: a second build of the same packages then
# comes from the build cache instead of compiling them again beside the first on the same two cores.
GO_BUILD_LOCK = Path.home() / ".cache" / "pulumi-zstack" / "sdk-go-build.lock"
# The generated package's directory in the SDK module, named after the schema's package.
GO_PACKAGE = "zstack"


@dataclass(frozen=True)
class GoProject:
    directory: Path
    sdk: Path
    env: Mapping[str, str]

    def go(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        with _go_build_turn():
            return _run(["go", *args], cwd=self.directory, env=self.env)

    def build(self, *packages: str) -> subprocess.CompletedProcess[str]:
        return self.go("build", "-o", os.devnull, *packages)

    def source(self, name: str) -> str:
        return "\n".join(p.read_text() for p in sorted((self.sdk / name).glob("*.go")))


@contextlib.contextmanager
def _go_build_turn() -> Iterator[None]:
    GO_BUILD_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with GO_BUILD_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _sdk_module() -> str:
    """The SDK's module path, as the example's go.mod names it in its replace."""
    go_mod = (EXAMPLES / "go" / "go.mod").read_text()
    match = re.search(r"^replace\s+(\S+)\s+=>\s+\./sdk/go\s*$", go_mod, re.MULTILINE)
    assert match, "examples/go/go.mod must replace the SDK's module with ./sdk/go"
    return match.group(1)


@pytest.fixture(scope="module")
def go_project(sdk_generators: Path, tmp_path_factory: pytest.TempPathFactory) -> GoProject:
    scratch = tmp_path_factory.mktemp("go")
    directory = _copy_example("go", scratch / "program")
    sdk = _gen_sdk(sdk_generators, "go", directory / "sdk", scratch)
    project = GoProject(directory, sdk, {**os.environ, **GO_ENV})
    _must(project.go("mod", "tidy"))
    return project


@GO
def test_go_sdk_is_the_module_the_example_requires_at_the_package_version(
    go_project: GoProject, schema: Schema
) -> None:
    go_mod = go_project.sdk / "go.mod"
    assert go_mod.is_file(), "gen-sdk wrote no go.mod: the schema needs meta.supportPack"
    assert go_mod.read_text().splitlines()[0] == f"module {_sdk_module()}"
    plugin = json.loads((go_project.sdk / GO_PACKAGE / "pulumi-plugin.json").read_text())
    assert (plugin["name"], plugin["version"]) == ("zstack", schema.version)
    assert schema.version == version("pulumi-zstack")
    # Programs ask the engine for the plugin of the version their SDK was generated for.
    utilities = (go_project.sdk / GO_PACKAGE / "internal" / "pulumiUtilities.go").read_text()
    assert f'version := semver.MustParse("{schema.version}")' in utilities


@GO
def test_go_program_builds_against_the_generated_sdk(go_project: GoProject) -> None:
    internal = f'"{_sdk_module()}/{GO_PACKAGE}/internal"'
    assert internal in go_project.source(GO_PACKAGE), (
        f"the generated SDK does not import {internal}: examples/go/go.mod must replace its module"
    )
    binary = go_project.directory / "zstack-go"
    _must(go_project.go("build", "-o", binary, "."))
    assert os.access(binary, os.X_OK)


@GO
def test_go_compiler_names_a_misspelled_and_a_mistyped_argument(go_project: GoProject) -> None:
    main = (go_project.directory / "main.go").read_text()
    wrong = _replace_once(main, "UserTags:", "UserTag:")
    wrong = _replace_once(wrong, "Keep:              pulumi.Int(3)", 'Keep:              pulumi.String("3")')
    wrong_dir = go_project.directory / "wrong"
    wrong_dir.mkdir()
    (wrong_dir / "main.go").write_text(wrong)

    output = _fails(go_project.build("./wrong"))

    assert "unknown field UserTag in struct literal of type zstack.VmBackupArgs" in output
    assert "as pulumi.IntInput value" in output


_GO_SCALARS = {"string": "String", "integer": "Int", "number": "Float64", "boolean": "Bool"}


def _go_field(name: str) -> str:
    return name[0].upper() + name[1:]


def _go_contract(schema: Schema, package_import: str, *, flip: str | None = None) -> str:
    """Compile-time checks that each scalar input has the type its schema entry calls for.

    A required scalar is a `pulumi.<T>Input` and an optional one a `pulumi.<T>PtrInput`. The first has every
    method of the second, so each side is checked its own way: a required field must be a `<T>Input`, and an
    optional field must accept a `<T>PtrInput`. `flip` names one `Resource.input` whose expectation is
    inverted, to see the check fail.
    """
    lines = [
        "package contract",
        "",
        "import (",
        '\t"github.com/pulumi/pulumi/sdk/v3/go/pulumi"',
        "",
        f'\tzstack "{package_import}"',
        ")",
        "",
    ]
    for resource in schema.resources:
        for prop in resource.inputs:
            scalar = _GO_SCALARS.get(str(prop.spec.get("type")))
            if scalar is None:
                continue
            args, field = f"zstack.{resource.name}Args", _go_field(prop.name)
            if prop.required != (flip == f"{resource.name}.{prop.name}"):
                lines.append(f"var _ pulumi.{scalar}Input = {args}{{}}.{field}")
            else:
                lines.append(f"var _ = {args}{{{field}: pulumi.{scalar}PtrInput(nil)}}")
    return "\n".join(lines) + "\n"


@GO
def test_go_inputs_are_required_or_optional_as_the_schema_says(go_project: GoProject, schema: Schema) -> None:
    package_import = f"{_sdk_module()}/{GO_PACKAGE}"
    contract = go_project.directory / "contract"
    contract.mkdir()
    (contract / "contract.go").write_text(_go_contract(schema, package_import))
    _must(go_project.build("./contract"))

    flipped = _go_contract(schema, package_import, flip="VmBackup.rootVolumeUuid")
    (contract / "contract.go").write_text(flipped)
    output = _fails(go_project.build("./contract"))
    assert "cannot use pulumi.StringPtrInput(nil)" in output
    assert "as pulumi.StringInput value in struct literal" in output


def _go_outputs_contract(schema: Schema, package_import: str, *, flip: str | None = None) -> str:
    """Compile-time checks that each scalar output is a `pulumi.<T>Output` when the schema requires it and a
    `pulumi.<T>PtrOutput` otherwise; `flip` names one `Resource.property` whose expectation is inverted."""
    lines = [
        "package outputs",
        "",
        "import (",
        '\t"github.com/pulumi/pulumi/sdk/v3/go/pulumi"',
        "",
        f'\tzstack "{package_import}"',
        ")",
        "",
    ]
    for resource in schema.resources:
        for prop in resource.outputs:
            scalar = _GO_SCALARS.get(str(prop.spec.get("type")))
            if scalar is None:
                continue
            required = prop.required != (flip == f"{resource.name}.{prop.name}")
            kind = f"pulumi.{scalar}{'' if required else 'Ptr'}Output"
            lines.append(f"var _ {kind} = (&zstack.{resource.name}{{}}).{_go_field(prop.name)}")
    return "\n".join(lines) + "\n"


@GO
def test_go_outputs_every_read_fills_are_not_optional(go_project: GoProject, schema: Schema) -> None:
    package_import = f"{_sdk_module()}/{GO_PACKAGE}"
    outputs = go_project.directory / "outputs"
    outputs.mkdir()
    (outputs / "outputs.go").write_text(_go_outputs_contract(schema, package_import))
    _must(go_project.build("./outputs"))

    # A required output feeds a required input as it is, with no `.Elem()`.
    chained = go_project.directory / "chained"
    chained.mkdir()
    (chained / "main.go").write_text(
        "package main\n\n"
        f'import (\n\t"github.com/pulumi/pulumi/sdk/v3/go/pulumi"\n\n\tzstack "{package_import}"\n)\n\n'
        "func main() {\n"
        "\tpulumi.Run(func(ctx *pulumi.Context) error {\n"
        '\t\tseries, err := zstack.NewVmBackupSeries(ctx, "s", &zstack.VmBackupSeriesArgs{})\n'
        "\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n"
        '\t\tbackup, err := zstack.NewVmBackup(ctx, "b", &zstack.VmBackupArgs{\n'
        "\t\t\tRootVolumeUuid: series.RootVolumeUuid, BackupStorageUuid: series.BackupStorageUuid, "
        "Name: series.Name,\n\t\t})\n"
        "\t\tif err != nil {\n\t\t\treturn err\n\t\t}\n"
        '\t\t_, err = zstack.NewVmFromBackup(ctx, "r", &zstack.VmFromBackupArgs{\n'
        "\t\t\tGroupUuid: backup.GroupUuid, Name: backup.Name,\n\t\t})\n"
        "\t\treturn err\n\t})\n}\n"
    )
    _must(go_project.build("./chained"))

    # A series may keep no backup (refresh found them all deleted): its latest one stays optional.
    (outputs / "outputs.go").write_text(
        _go_outputs_contract(schema, package_import, flip="VmBackupSeries.latestGroupUuid")
    )
    output = _fails(go_project.build("./outputs"))
    assert "cannot use (&zstack.VmBackupSeries{}).LatestGroupUuid" in output
    assert "pulumi.StringPtrOutput) as pulumi.StringOutput value" in output


@GO
def test_go_sdk_makes_secret_inputs_secrets(go_project: GoProject, schema: Schema) -> None:
    secrets = [p.name for p in schema.provider_inputs if p.secret]
    assert secrets, "the schema declares no secret provider input (zstack:accountPassword is one)"
    provider = (go_project.sdk / GO_PACKAGE / "provider.go").read_text()
    for name in secrets:
        field = _go_field(name)
        assert f"args.{field} = pulumi.ToSecret(args.{field})" in provider, f"{name} is not made a secret"
        assert f'"{name}",' in _between(provider, "AdditionalSecretOutputs([]string{", "})")
    source = go_project.source(GO_PACKAGE)
    for resource in schema.resources:
        for prop in resource.inputs:
            if prop.secret:
                field = _go_field(prop.name)
                assert f"args.{field} = pulumi.ToSecret(args.{field})" in source, (
                    f"{resource.name}.{prop.name} is not made a secret"
                )


# --- TypeScript -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeScriptProject:
    directory: Path
    sdk: Path
    env: Mapping[str, str]

    def tsc(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        tsc = self.directory / "node_modules" / ".bin" / "tsc"
        return _run([tsc, *args], cwd=self.directory, env=self.env)

    def check(self, program: Path) -> subprocess.CompletedProcess[str]:
        """`tsc --noEmit` of `program` with the compiler options of the example's tsconfig.json."""
        tsconfig = self.directory / f"tsconfig.{program.stem}.json"
        tsconfig.write_text(json.dumps({"extends": "./tsconfig.json", "files": [program.name]}))
        return self.tsc("--noEmit", "-p", tsconfig)


@pytest.fixture(scope="module")
def typescript_project(sdk_generators: Path, tmp_path_factory: pytest.TempPathFactory) -> TypeScriptProject:
    scratch = tmp_path_factory.mktemp("typescript")
    directory = _copy_example("typescript", scratch / "program")
    sdk = _gen_sdk(sdk_generators, "nodejs", directory / "sdk", scratch)
    env = {**os.environ, "npm_config_cache": str(NPM_CACHE), "npm_config_update_notifier": "false"}
    # `file:sdk/nodejs/bin` is linked before the SDK is built into it; the link resolves once it is.
    _must(_run(["npm", "install", "--no-audit", "--no-fund", "--prefer-offline"], cwd=directory, env=env))
    project = TypeScriptProject(directory, sdk, env)
    _must(project.tsc("-p", sdk))
    # The package is published from bin/ (its package.json beside the compiled code), as npm gets it.
    shutil.copy(sdk / "package.json", sdk / "bin" / "package.json")
    return project


@TYPESCRIPT
def test_typescript_sdk_is_the_projects_npm_package_at_the_package_version(
    typescript_project: TypeScriptProject, schema: Schema
) -> None:
    package = json.loads((typescript_project.sdk / "package.json").read_text())
    assert package["name"] == "@pulumi-zstack/zstack"
    assert package["version"] == schema.version == version("pulumi-zstack")
    assert package["pulumi"] == {"resource": True, "name": "zstack", "version": schema.version}
    example = json.loads((typescript_project.directory / "package.json").read_text())
    assert example["dependencies"][package["name"]] == "file:sdk/nodejs/bin"


_TS_SCALARS = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"}


@TYPESCRIPT
def test_typescript_outputs_every_read_fills_are_not_optional(
    typescript_project: TypeScriptProject, schema: Schema
) -> None:
    for resource in schema.resources:
        source = (typescript_project.sdk / f"{resource.name[0].lower()}{resource.name[1:]}.ts").read_text()
        for prop in resource.outputs:
            scalar = _TS_SCALARS.get(str(prop.spec.get("type")))
            if scalar is None:
                continue
            value = scalar if prop.required else f"{scalar} | undefined"
            declared = rf"public (/\*out\*/ )?readonly {prop.name}: pulumi\.Output<{re.escape(value)}>;"
            assert re.search(declared, source), f"{resource.name}.{prop.name} is not an Output<{value}>"
    assert any(o.required for r in schema.resources for o in r.outputs if o.name == "rootVolumeUuid")


@TYPESCRIPT
def test_typescript_program_type_checks_against_the_generated_sdk(
    typescript_project: TypeScriptProject,
) -> None:
    package = json.loads((typescript_project.sdk / "package.json").read_text())["name"]
    index = (typescript_project.directory / "index.ts").read_text()
    assert f'from "{package}"' in index, f"examples/typescript/index.ts must import the SDK as {package}"
    _must(typescript_project.tsc("--noEmit", "-p", typescript_project.directory))


@TYPESCRIPT
def test_typescript_compiler_names_a_misspelled_and_a_mistyped_argument(
    typescript_project: TypeScriptProject,
) -> None:
    index = (typescript_project.directory / "index.ts").read_text()
    wrong = _replace_once(index, "userTags:", "userTag:")
    wrong = _replace_once(wrong, "keep: 3,", 'keep: "3",')
    program = typescript_project.directory / "wrong.ts"
    program.write_text(wrong)

    output = _fails(typescript_project.check(program))

    assert "'userTag' does not exist in type 'VmBackupArgs'" in output
    assert "Type 'string' is not assignable to type 'Input<number>'" in output


def _ts_contract(schema: Schema, package: str, *, expect_error_on_complete: bool = False) -> str:
    """Each resource made with all its required inputs, then once without each of them.

    `@ts-expect-error` makes tsc fail when the next line compiles: a required input the SDK made optional
    fails the check. With `expect_error_on_complete`, the complete calls carry the directive too, to see it.
    """
    lines = [
        'import * as pulumi from "@pulumi/pulumi";',
        f'import * as zstack from "{package}";',
        "",
        "// Assignable to every input type: only which inputs are given matters here.",
        "const value: pulumi.Output<any> = pulumi.output(undefined);",
    ]
    for resource in schema.resources:
        required = [p.name for p in resource.inputs if p.required]
        if expect_error_on_complete:
            lines.append("// @ts-expect-error: a complete call")
        args = ", ".join(f"{name}: value" for name in required)
        lines.append(f'new zstack.{resource.name}("complete", {{ {args} }});')
        for missing in required:
            rest = ", ".join(f"{name}: value" for name in required if name != missing)
            lines.append(f"// @ts-expect-error: {resource.name} requires {missing}")
            lines.append(f'new zstack.{resource.name}("without-{missing}", {{ {rest} }});')
    return "\n".join(lines) + "\n"


@TYPESCRIPT
def test_typescript_required_inputs_cannot_be_left_out(
    typescript_project: TypeScriptProject, schema: Schema
) -> None:
    package = json.loads((typescript_project.sdk / "package.json").read_text())["name"]
    assert any(p.required for r in schema.resources for p in r.inputs)
    contract = typescript_project.directory / "contract.ts"
    contract.write_text(_ts_contract(schema, package))
    _must(typescript_project.check(contract))

    contract.write_text(_ts_contract(schema, package, expect_error_on_complete=True))
    output = _fails(typescript_project.check(contract))
    assert output.count("Unused '@ts-expect-error' directive") == len(schema.resources)


@TYPESCRIPT
def test_typescript_sdk_makes_secret_inputs_secrets(
    typescript_project: TypeScriptProject, schema: Schema
) -> None:
    secrets = [p.name for p in schema.provider_inputs if p.secret]
    assert secrets, "the schema declares no secret provider input (zstack:accountPassword is one)"
    provider = (typescript_project.sdk / "provider.ts").read_text()
    additional = _between(provider, "additionalSecretOutputs: [", "]")
    for name in secrets:
        assert f"pulumi.secret(args.{name})" in provider, f"{name} is not made a secret"
        assert f'"{name}"' in additional
    for resource in schema.resources:
        source = (typescript_project.sdk / f"{resource.name[0].lower()}{resource.name[1:]}.ts").read_text()
        for prop in resource.inputs:
            if prop.secret:
                assert f"pulumi.secret(args.{prop.name})" in source, (
                    f"{resource.name}.{prop.name} is not made a secret"
                )


# --- running ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("example", "language", "name"),
    [
        pytest.param("go", "go", "Go", marks=GO),
        pytest.param("typescript", "nodejs", "Node.js", marks=TYPESCRIPT),
    ],
)
def test_programs_are_refused_not_run(
    sdk_generators: Path, tmp_path: Path, example: str, language: str, name: str
) -> None:
    """`pulumi preview` of an example fails at once, saying why: these SDKs are compiled here, never run."""
    directory = _copy_example(example, tmp_path / "program")
    env = isolated_env(sdk_generators, tmp_path / "pulumi-home", tmp_path / "pulumi-backend")
    (tmp_path / "pulumi-backend").mkdir()
    pulumi = sdk_generators / "pulumi"
    _must(_run([pulumi, "--non-interactive", "stack", "init", "dev"], cwd=directory, env=env))
    for key in ("appVersion", "rootVolumeUuid", "backupStorageUuid"):
        _must(_run([pulumi, "--non-interactive", "config", "set", key, "unused"], cwd=directory, env=env))

    done = _run([pulumi, "--non-interactive", "preview"], cwd=directory, env=env)

    output = _fails(done)
    assert f"this pulumi-language-{language} only generates SDKs (pulumi package gen-sdk)" in output
    assert f"Pulumi's own {name} language host is not available on this machine" in output


# --- helpers ----------------------------------------------------------------------------------------------


def _replace_once(text: str, old: str, new: str) -> str:
    assert old in text, f"the example no longer contains {old!r}"
    return text.replace(old, new, 1)


def _between(text: str, start: str, end: str) -> str:
    assert start in text, f"{start!r} not found"
    tail = text.split(start, 1)[1]
    return tail.split(end, 1)[0]
