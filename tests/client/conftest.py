"""Fixtures for client tests: a fake ZStack behind httpx.MockTransport, and a clock that never sleeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import httpx
import pytest
from pulumi_zstack_provider._client import ConnectionSettings, RetryPolicy, ZStackClient

from tests.client.fake_zstack import FakeClock, FakeZStack

HOST = "zstack.test"
PASSWORD = "S3cret-Pa55!word"
ACCESS_KEY_ID = "vvSZpmj4cnB53qUDmm6E"
ACCESS_KEY_SECRET = "8heumeFTvIeZxkTGfEYvVi9qVVPd9ffQNDALSPPb"

MakeClient = Callable[..., ZStackClient]


def account_config(**extra: str) -> dict[str, str]:
    return {"zstack:host": HOST, "zstack:accountName": "admin", "zstack:accountPassword": PASSWORD, **extra}


def access_key_config(**extra: str) -> dict[str, str]:
    return {
        "zstack:host": HOST,
        "zstack:accessKeyId": ACCESS_KEY_ID,
        "zstack:accessKeySecret": ACCESS_KEY_SECRET,
        **extra,
    }


@pytest.fixture
def fake() -> FakeZStack:
    return FakeZStack(password=PASSWORD, access_keys={ACCESS_KEY_ID: ACCESS_KEY_SECRET})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(fake: FakeZStack, clock: FakeClock) -> Iterator[MakeClient]:
    clients: list[ZStackClient] = []

    def make(config: Mapping[str, str] | None = None, *, retry: RetryPolicy | None = None) -> ZStackClient:
        settings = ConnectionSettings.resolve(config or account_config(), {})
        client = ZStackClient(
            settings, transport=httpx.MockTransport(fake), retry=retry, clock=clock, sleep=clock.sleep
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> ZStackClient:
    return make_client()
