"""Connection settings, resolved from Pulumi stack config with `ZSTACK_*` environment fallbacks.

The names match the official ZStack Terraform provider. A stack config value wins over the environment;
empty values count as unset. Credentials are kept as `SecretStr`, so reprs and dumps show `**********`.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ._errors import ConfigurationError

AuthMethod = Literal["access_key", "session", "account"]


@dataclass(frozen=True)
class _Setting:
    key: str  # stack config key
    env_var: str
    label: str  # what it is, for messages
    secret: bool = False
    example: str = "..."
    kind: str = "string"  # its type in the package schema
    description: str = ""

    def set_hint(self) -> str:
        secret = "--secret " if self.secret else ""
        return (
            f"set the stack config `{self.key}` (pulumi config set {secret}{self.key} {self.example}) "
            f"or the environment variable {self.env_var}"
        )

    def missing(self) -> ConfigurationError:
        return ConfigurationError(
            f"{self.label} is not set: {self.set_hint()}", setting=self.key, env_var=self.env_var
        )


HOST = _Setting(
    "zstack:host",
    "ZSTACK_HOST",
    "ZStack host",
    example="zstack.example.com",
    description="Management node host (required).",
)
PORT = _Setting(
    "zstack:port",
    "ZSTACK_PORT",
    "ZStack port",
    example="8080",
    kind="integer",
    description="Management node API port (default 8080).",
)
SCHEME = _Setting(
    "zstack:scheme",
    "ZSTACK_SCHEME",
    "ZStack scheme",
    example="https",
    description="`http` (default) or `https`.",
)
ACCOUNT_NAME = _Setting(
    "zstack:accountName",
    "ZSTACK_ACCOUNT_NAME",
    "ZStack account name",
    example="admin",
    description="Account to log in with, with `accountPassword`.",
)
ACCOUNT_PASSWORD = _Setting(
    "zstack:accountPassword",
    "ZSTACK_ACCOUNT_PASSWORD",
    "ZStack account password",
    secret=True,
    description="Password of `accountName`.",
)
ACCESS_KEY_ID = _Setting(
    "zstack:accessKeyId",
    "ZSTACK_ACCESS_KEY_ID",
    "ZStack access key id",
    description="AccessKey authentication (preferred when set), with `accessKeySecret`.",
)
ACCESS_KEY_SECRET = _Setting(
    "zstack:accessKeySecret",
    "ZSTACK_ACCESS_KEY_SECRET",
    "ZStack access key secret",
    secret=True,
    description="Secret of `accessKeyId`.",
)
SESSION_ID = _Setting(
    "zstack:sessionId",
    "ZSTACK_SESSION_ID",
    "ZStack session id",
    secret=True,
    description="An existing session to use instead of logging in.",
)
CA_CERT_FILE = _Setting(
    "zstack:caCertFile",
    "ZSTACK_CA_CERT_FILE",
    "ZStack CA certificate file",
    example="/path/to/ca.pem",
    description="CA bundle to verify the management node's certificate over https.",
)
INSECURE = _Setting(
    "zstack:insecure",
    "ZSTACK_INSECURE",
    "ZStack insecure TLS switch",
    example="true",
    kind="boolean",
    description="Skip certificate verification over https.",
)
REQUEST_TIMEOUT = _Setting(
    "zstack:requestTimeout",
    "ZSTACK_REQUEST_TIMEOUT",
    "ZStack request timeout",
    example="60",
    kind="number",
    description="Seconds per HTTP request (default 30).",
)
MAX_CONCURRENT_OPERATIONS = _Setting(
    "zstack:maxConcurrentOperations",
    "ZSTACK_MAX_CONCURRENT_OPERATIONS",
    "ZStack concurrent operation limit",
    example="64",
    kind="integer",
    description="ZStack operations in flight at once, 1 to 1024 (default 32).",
)
#: Every setting, in the order the docs list them.
SETTINGS = (
    HOST,
    PORT,
    ACCOUNT_NAME,
    ACCOUNT_PASSWORD,
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    SESSION_ID,
    SCHEME,
    CA_CERT_FILE,
    INSECURE,
    REQUEST_TIMEOUT,
    MAX_CONCURRENT_OPERATIONS,
)
MAX_CONCURRENT_OPERATIONS_LIMIT = 1024
DEFAULT_MAX_CONCURRENT_OPERATIONS = 32

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class _Source:
    """Looks settings up in stack config first, then in the environment."""

    def __init__(self, config: Mapping[str, str], environ: Mapping[str, str]) -> None:
        self._config = config
        self._environ = environ

    def get(self, setting: _Setting) -> tuple[str, str] | None:
        """The raw value and a phrase naming where it came from, or None when unset."""
        candidates = (
            (self._config.get(setting.key), f"stack config `{setting.key}`"),
            (self._environ.get(setting.env_var), f"environment variable {setting.env_var}"),
        )
        for raw, origin in candidates:
            if raw is not None and str(raw).strip():
                return str(raw).strip(), origin
        return None


def _invalid(setting: _Setting, origin: str, problem: str) -> ConfigurationError:
    return ConfigurationError(
        f"{setting.label} from the {origin} {problem}: fix `{setting.key}` (pulumi config set {setting.key} "
        f"{setting.example}) or the environment variable {setting.env_var}",
        setting=setting.key,
        env_var=setting.env_var,
    )


def resolve_max_concurrent_operations(config: Mapping[str, str], environ: Mapping[str, str]) -> int:
    """`zstack:maxConcurrentOperations` / ZSTACK_MAX_CONCURRENT_OPERATIONS, default 32.

    Resolved on its own as well, because the provider sizes its worker pool at configure time, before (and
    whether or not) the rest of the settings are valid.
    """
    found = _Source(config, environ).get(MAX_CONCURRENT_OPERATIONS)
    if found is None:
        return DEFAULT_MAX_CONCURRENT_OPERATIONS
    raw, origin = found
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_CONCURRENT_OPERATIONS_LIMIT:
        raise _invalid(
            MAX_CONCURRENT_OPERATIONS,
            origin,
            f"must be an integer from 1 to {MAX_CONCURRENT_OPERATIONS_LIMIT}, got {raw!r}",
        )
    return int(raw)


class ConnectionSettings(BaseModel):
    """Where and how to reach the ZStack management node. Build it with `ConnectionSettings.resolve`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1)
    port: int = Field(default=8080, ge=1, le=65535)
    scheme: Literal["http", "https"] = "http"
    account_name: str | None = None
    account_password: SecretStr | None = None
    access_key_id: str | None = None
    access_key_secret: SecretStr | None = None
    session_id: SecretStr | None = None
    ca_cert_file: str | None = None
    insecure: bool = False
    request_timeout: float = Field(default=30.0, gt=0)
    max_concurrent_operations: int = Field(default=DEFAULT_MAX_CONCURRENT_OPERATIONS, ge=1)

    @classmethod
    def resolve(cls, config: Mapping[str, str], environ: Mapping[str, str]) -> ConnectionSettings:
        """Read settings from stack config (``{"zstack:host": "...", ...}``), falling back to `environ`.

        Raises `ConfigurationError` naming the config key and the environment variable of the first
        missing or invalid setting. Authentication uses, in this order, the first complete method: access
        key (id + secret), session id, account (name + password); a half-configured access key or account
        is an error rather than silently skipped.
        """
        source = _Source(config, environ)

        host_value = source.get(HOST)
        if host_value is None:
            raise HOST.missing()
        host, origin = host_value
        if "://" in host or "/" in host or " " in host:
            raise _invalid(
                HOST,
                origin,
                f"must be a host name or IP address only, got {host!r} "
                "(put the scheme in `zstack:scheme` and the port in `zstack:port`)",
            )

        port = 8080
        if (port_value := source.get(PORT)) is not None:
            raw, origin = port_value
            if not raw.isdigit() or not 1 <= int(raw) <= 65535:
                raise _invalid(PORT, origin, f"must be an integer from 1 to 65535, got {raw!r}")
            port = int(raw)

        scheme: Literal["http", "https"] = "http"
        if (scheme_value := source.get(SCHEME)) is not None:
            raw, origin = scheme_value
            if raw.lower() not in ("http", "https"):
                raise _invalid(SCHEME, origin, f"must be `http` or `https`, got {raw!r}")
            scheme = "https" if raw.lower() == "https" else "http"

        insecure = False
        if (insecure_value := source.get(INSECURE)) is not None:
            raw, origin = insecure_value
            if raw.lower() not in _TRUE | _FALSE:
                raise _invalid(INSECURE, origin, f"must be true or false, got {raw!r}")
            insecure = raw.lower() in _TRUE

        ca_cert_file = None
        if (ca_value := source.get(CA_CERT_FILE)) is not None:
            ca_cert_file, origin = ca_value
            if not os.path.isfile(ca_cert_file):
                raise _invalid(CA_CERT_FILE, origin, f"does not name an existing file: {ca_cert_file!r}")
            try:  # found here, at preview, rather than by the first request at up
                ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=ca_cert_file)
            except (ssl.SSLError, OSError, ValueError):
                raise _invalid(
                    CA_CERT_FILE, origin, f"holds no PEM CA certificate that can be loaded: {ca_cert_file!r}"
                ) from None

        request_timeout = 30.0
        if (timeout_value := source.get(REQUEST_TIMEOUT)) is not None:
            raw, origin = timeout_value
            try:
                request_timeout = float(raw)
            except ValueError:
                request_timeout = float("nan")
            if not request_timeout > 0 or request_timeout == float("inf"):
                raise _invalid(REQUEST_TIMEOUT, origin, f"must be a positive number of seconds, got {raw!r}")

        max_concurrent_operations = resolve_max_concurrent_operations(config, environ)

        def value(setting: _Setting) -> str | None:
            found = source.get(setting)
            return None if found is None else found[0]

        key_id, key_secret = value(ACCESS_KEY_ID), value(ACCESS_KEY_SECRET)
        session_id = value(SESSION_ID)
        name, password = value(ACCOUNT_NAME), value(ACCOUNT_PASSWORD)
        for first, second in ((ACCESS_KEY_ID, ACCESS_KEY_SECRET), (ACCOUNT_NAME, ACCOUNT_PASSWORD)):
            has_first, has_second = value(first) is not None, value(second) is not None
            if has_first != has_second:
                absent = second if has_first else first
                present = first if has_first else second
                raise ConfigurationError(
                    f"{absent.label} is not set although {present.label} is: {absent.set_hint()}, "
                    f"or unset `{present.key}` / {present.env_var}",
                    setting=absent.key,
                    env_var=absent.env_var,
                )
        if key_id is None and session_id is None and name is None:
            raise ConfigurationError(
                "No ZStack credentials are set: set an access key (stack config `zstack:accessKeyId` and "
                "`zstack:accessKeySecret`, or ZSTACK_ACCESS_KEY_ID and ZSTACK_ACCESS_KEY_SECRET), an account "
                "(`zstack:accountName` and `zstack:accountPassword`, or ZSTACK_ACCOUNT_NAME and "
                "ZSTACK_ACCOUNT_PASSWORD) or a session id (`zstack:sessionId` or ZSTACK_SESSION_ID); use "
                "`pulumi config set --secret` for the secret ones",
                setting=ACCESS_KEY_ID.key,
                env_var=ACCESS_KEY_ID.env_var,
            )

        return cls(
            host=host,
            port=port,
            scheme=scheme,
            account_name=name,
            account_password=None if password is None else SecretStr(password),
            access_key_id=key_id,
            access_key_secret=None if key_secret is None else SecretStr(key_secret),
            session_id=None if session_id is None else SecretStr(session_id),
            ca_cert_file=ca_cert_file,
            insecure=insecure,
            request_timeout=request_timeout,
            max_concurrent_operations=max_concurrent_operations,
        )

    @property
    def auth_method(self) -> AuthMethod:
        """The credentials in use: access key, then session id, then account (first complete one wins)."""
        if self.access_key_id and self.access_key_secret:
            return "access_key"
        if self.session_id:
            return "session"
        if self.account_name and self.account_password:
            return "account"
        raise ConfigurationError(
            "No complete ZStack credentials are set: set `zstack:accessKeyId` and "
            "`zstack:accessKeySecret` (ZSTACK_ACCESS_KEY_ID, ZSTACK_ACCESS_KEY_SECRET), `zstack:sessionId` "
            "(ZSTACK_SESSION_ID) or `zstack:accountName` and `zstack:accountPassword` (ZSTACK_ACCOUNT_NAME, "
            "ZSTACK_ACCOUNT_PASSWORD)",
            setting=ACCESS_KEY_ID.key,
            env_var=ACCESS_KEY_ID.env_var,
        )

    @property
    def endpoint(self) -> str:
        """``host:port``, with IPv6 literals bracketed."""
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The webapp root, e.g. ``http://127.0.0.1:8080/zstack``; API paths continue with ``/v1/...``."""
        return f"{self.scheme}://{self.endpoint}/zstack"
