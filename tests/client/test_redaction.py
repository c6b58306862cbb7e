"""Masking keeps secrets out of messages without making the messages unreadable.

A secret that is a common word (a password `wrong`) must not turn "wrong account name or password" into
"*** account name or password"; secrets that can come back from ZStack are masked whatever their length.
"""

from __future__ import annotations

import hashlib

import httpx
import pytest
from pulumi_zstack_provider._client import AuthenticationError, SessionExpiredError
from pulumi_zstack_provider._client._redact import MASK, Redactor

from tests.client.conftest import HOST, access_key_config, account_config
from tests.client.fake_zstack import FakeZStack, Forward, error

pytestmark = pytest.mark.unit

SERVER_MESSAGE = "wrong account name or password"


def test_a_short_password_does_not_mangle_zstack_s_message(make_client, fake: FakeZStack) -> None:
    short_hash = hashlib.sha512(b"wrong").hexdigest()

    def refuse(request: httpx.Request, forward: Forward) -> httpx.Response:
        return error(400, "ID.1000", "Unable to authenticate", f"{SERVER_MESSAGE}; hash {short_hash}")

    fake.on("PUT", "/accounts/login", refuse)
    client = make_client(account_config(**{"zstack:accountPassword": "wrong"}))

    with pytest.raises(AuthenticationError) as raised:
        client.query("volume-backups")

    shown = str(raised.value)
    assert SERVER_MESSAGE in shown, shown
    assert short_hash not in shown, "the password hash is sent, so it is always masked"
    assert MASK in shown


def test_a_short_session_id_is_masked_because_zstack_echoes_it(make_client, fake: FakeZStack) -> None:
    session = "s3ss"

    def expired(request: httpx.Request, forward: Forward) -> httpx.Response:
        return error(503, "ID.1001", "The session is invalid", f"Session[uuid:{session}] expired")

    fake.on("GET", "/volume-backups", expired, times=2)
    client = make_client({"zstack:host": HOST, "zstack:sessionId": session})

    with pytest.raises(SessionExpiredError) as raised:
        client.query("volume-backups")

    assert session not in str(raised.value)
    assert f"Session[uuid:{MASK}]" in str(raised.value)


def test_a_long_access_key_secret_is_masked_even_though_it_is_never_sent(
    make_client, fake: FakeZStack
) -> None:
    secret = access_key_config()["zstack:accessKeySecret"]

    def echo(request: httpx.Request, forward: Forward) -> httpx.Response:
        return error(400, "SYS.1007", "bad argument", f"argument {secret} rejected")

    fake.on("GET", "/volume-backups", echo)

    with pytest.raises(Exception) as raised:  # noqa: PT011 - the class is not what is checked here
        make_client(access_key_config()).query("volume-backups")

    assert secret not in str(raised.value)
    assert f"argument {MASK} rejected" in str(raised.value)


@pytest.mark.parametrize(
    ("sent", "unsent", "text", "shown"),
    [
        ((), ("wrong",), "wrong account name or password", "wrong account name or password"),
        ((), ("Pa55-word-long",), "echo Pa55-word-long here", f"echo {MASK} here"),
        (("ab12",), (), "session ab12 expired", f"session {MASK} expired"),
        (("abc", "abcdef"), (), "abcdef then abc", f"{MASK} then {MASK}"),
    ],
)
def test_redactor_masks_sent_secrets_always_and_unsent_ones_when_distinctive(
    sent: tuple[str, ...], unsent: tuple[str, ...], text: str, shown: str
) -> None:
    assert Redactor(*sent, unsent=unsent)(text) == shown
