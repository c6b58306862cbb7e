"""Resolving connection settings from stack config and ZSTACK_* environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme
from pulumi_zstack_provider._client import ConfigurationError, ConnectionSettings

from tests.client.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, PASSWORD

pytestmark = pytest.mark.unit

ACCOUNT_ENV = {"ZSTACK_ACCOUNT_NAME": "admin", "ZSTACK_ACCOUNT_PASSWORD": PASSWORD}


def test_stack_config_wins_over_environment() -> None:
    settings = ConnectionSettings.resolve(
        {"zstack:host": "from-config", "zstack:port": "8443"},
        {"ZSTACK_HOST": "from-env", "ZSTACK_PORT": "9000", **ACCOUNT_ENV},
    )
    assert (settings.host, settings.port) == ("from-config", 8443)


def test_environment_fills_what_stack_config_lacks_or_leaves_empty() -> None:
    settings = ConnectionSettings.resolve(
        {"zstack:host": "  ", "zstack:accountName": "ops"},
        {"ZSTACK_HOST": "10.1.2.3", "ZSTACK_ACCOUNT_PASSWORD": PASSWORD},
    )
    assert settings.host == "10.1.2.3"
    assert settings.account_name == "ops"
    assert settings.auth_method == "account"


def test_defaults_give_the_standard_endpoint() -> None:
    settings = ConnectionSettings.resolve({"zstack:host": "127.0.0.1"}, ACCOUNT_ENV)
    assert settings.base_url == "http://127.0.0.1:8080/zstack"
    assert settings.request_timeout == 30.0
    assert settings.insecure is False
    assert settings.max_concurrent_operations == 32


def test_concurrent_operation_limit_from_config_wins_over_environment() -> None:
    environ = {**ACCOUNT_ENV, "ZSTACK_MAX_CONCURRENT_OPERATIONS": "8"}
    from_env = ConnectionSettings.resolve({"zstack:host": "h"}, environ)
    config = {"zstack:host": "h", "zstack:maxConcurrentOperations": "128"}
    from_config = ConnectionSettings.resolve(config, environ)
    assert (from_env.max_concurrent_operations, from_config.max_concurrent_operations) == (8, 128)


def test_https_ipv6_and_options() -> None:
    settings = ConnectionSettings.resolve(
        {
            "zstack:host": "fd00::5",
            "zstack:scheme": "HTTPS",
            "zstack:port": "443",
            "zstack:insecure": "yes",
            "zstack:requestTimeout": "12.5",
        },
        ACCOUNT_ENV,
    )
    assert settings.base_url == "https://[fd00::5]:443/zstack"
    assert settings.insecure is True
    assert settings.request_timeout == 12.5


def test_missing_host_names_config_key_and_env_var() -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.resolve({}, ACCOUNT_ENV)
    assert raised.value.setting == "zstack:host"
    assert raised.value.env_var == "ZSTACK_HOST"
    message = str(raised.value)
    assert "`zstack:host`" in message
    assert "pulumi config set zstack:host" in message
    assert "ZSTACK_HOST" in message


@pytest.mark.parametrize(
    ("key", "env_var", "value"),
    [
        ("zstack:port", "ZSTACK_PORT", "http"),
        ("zstack:port", "ZSTACK_PORT", "0"),
        ("zstack:port", "ZSTACK_PORT", "65536"),
        ("zstack:scheme", "ZSTACK_SCHEME", "ftp"),
        ("zstack:insecure", "ZSTACK_INSECURE", "maybe"),
        ("zstack:requestTimeout", "ZSTACK_REQUEST_TIMEOUT", "-1"),
        ("zstack:requestTimeout", "ZSTACK_REQUEST_TIMEOUT", "soon"),
        ("zstack:caCertFile", "ZSTACK_CA_CERT_FILE", "/nonexistent/ca.pem"),
        ("zstack:host", "ZSTACK_HOST", "https://zstack.example.com:8080"),
        ("zstack:maxConcurrentOperations", "ZSTACK_MAX_CONCURRENT_OPERATIONS", "0"),
        ("zstack:maxConcurrentOperations", "ZSTACK_MAX_CONCURRENT_OPERATIONS", "many"),
        ("zstack:maxConcurrentOperations", "ZSTACK_MAX_CONCURRENT_OPERATIONS", "2.5"),
        ("zstack:maxConcurrentOperations", "ZSTACK_MAX_CONCURRENT_OPERATIONS", "100000"),
    ],
)
@pytest.mark.parametrize("source", ["config", "env"])
def test_invalid_values_name_config_key_and_env_var(key: str, env_var: str, value: str, source: str) -> None:
    config = {"zstack:host": "zstack.example.com"}
    environ = dict(ACCOUNT_ENV)
    if source == "config":
        config[key] = value
    else:
        config.pop(key, None)
        environ[env_var] = value
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.resolve(config, environ)
    assert (raised.value.setting, raised.value.env_var) == (key, env_var)
    message = str(raised.value)
    assert key in message
    assert env_var in message
    assert repr(value) in message  # the offending value is shown: none of these settings is secret


def test_ca_cert_file_holding_a_certificate_is_accepted(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    settings = ConnectionSettings.resolve({"zstack:host": "h", "zstack:caCertFile": str(bundle)}, ACCOUNT_ENV)
    assert settings.ca_cert_file == str(bundle)


def test_ca_cert_file_holding_no_certificate_is_refused_naming_key_and_variable(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ConfigurationError, match="no PEM CA certificate") as raised:
        ConnectionSettings.resolve({"zstack:host": "h", "zstack:caCertFile": str(bundle)}, ACCOUNT_ENV)
    assert raised.value.setting == "zstack:caCertFile"
    assert "ZSTACK_CA_CERT_FILE" in str(raised.value)


def test_no_credentials_names_every_way_to_authenticate() -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.resolve({"zstack:host": "h"}, {})
    message = str(raised.value)
    for name in (
        "zstack:accessKeyId",
        "zstack:accessKeySecret",
        "ZSTACK_ACCESS_KEY_ID",
        "ZSTACK_ACCESS_KEY_SECRET",
        "zstack:accountName",
        "zstack:accountPassword",
        "ZSTACK_ACCOUNT_NAME",
        "ZSTACK_ACCOUNT_PASSWORD",
        "zstack:sessionId",
        "ZSTACK_SESSION_ID",
    ):
        assert name in message


@pytest.mark.parametrize(
    ("given", "missing_key", "missing_env"),
    [
        ({"zstack:accessKeyId": ACCESS_KEY_ID}, "zstack:accessKeySecret", "ZSTACK_ACCESS_KEY_SECRET"),
        ({"zstack:accessKeySecret": ACCESS_KEY_SECRET}, "zstack:accessKeyId", "ZSTACK_ACCESS_KEY_ID"),
        ({"zstack:accountName": "admin"}, "zstack:accountPassword", "ZSTACK_ACCOUNT_PASSWORD"),
        ({"zstack:accountPassword": PASSWORD}, "zstack:accountName", "ZSTACK_ACCOUNT_NAME"),
    ],
)
def test_half_configured_credentials_name_the_missing_half(
    given: dict[str, str], missing_key: str, missing_env: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.resolve({"zstack:host": "h", **given}, {"ZSTACK_SESSION_ID": "abc"})
    assert (raised.value.setting, raised.value.env_var) == (missing_key, missing_env)
    assert missing_key in str(raised.value)
    assert missing_env in str(raised.value)


def test_access_key_beats_session_id_beats_account() -> None:
    everything = {
        "zstack:host": "h",
        "zstack:accessKeyId": ACCESS_KEY_ID,
        "zstack:accessKeySecret": ACCESS_KEY_SECRET,
        "zstack:sessionId": "0123456789abcdef0123456789abcdef",
        "zstack:accountName": "admin",
        "zstack:accountPassword": PASSWORD,
    }
    assert ConnectionSettings.resolve(everything, {}).auth_method == "access_key"
    without_key = {k: v for k, v in everything.items() if "accessKey" not in k}
    assert ConnectionSettings.resolve(without_key, {}).auth_method == "session"
    account_only = {k: v for k, v in without_key.items() if k != "zstack:sessionId"}
    assert ConnectionSettings.resolve(account_only, {}).auth_method == "account"


def test_secrets_never_show_in_repr_str_or_dump() -> None:
    session_id = "0123456789abcdef0123456789abcdef"
    settings = ConnectionSettings.resolve(
        {
            "zstack:host": "h",
            "zstack:accessKeyId": ACCESS_KEY_ID,
            "zstack:accessKeySecret": ACCESS_KEY_SECRET,
            "zstack:sessionId": session_id,
            "zstack:accountName": "admin",
            "zstack:accountPassword": PASSWORD,
        },
        {},
    )
    shown = " ".join([repr(settings), str(settings), settings.model_dump_json(), repr(settings.model_dump())])
    for secret in (PASSWORD, ACCESS_KEY_SECRET, session_id):
        assert secret not in shown
    assert settings.account_password is not None
    assert settings.account_password.get_secret_value() == PASSWORD
