"""HTTPS with a certificate issued by a throw-away trustme CA."""

from __future__ import annotations

import ssl

import httpx
import pytest
from zstack_simulator import RunningSimulator

from tests.simulator._support import create_backup, login, poll

pytestmark = pytest.mark.integration


def test_https_with_the_printed_ca_bundle(tls_simulator: RunningSimulator) -> None:
    assert tls_simulator.base_url.startswith("https://127.0.0.1:")
    assert tls_simulator.ca_bundle is not None
    context = ssl.create_default_context(cafile=str(tls_simulator.ca_bundle))
    with httpx.Client(base_url=tls_simulator.base_url, verify=context) as client:
        headers = login(client)
        submitted = create_backup(client, headers)
        # The management node always advertises a plain-http location on its internal address.
        assert submitted.json()["location"].startswith("http://192.0.2.10:8080/")
        assert poll(client, submitted.json()["location"]).status_code == 200


def test_https_is_refused_without_the_ca(tls_simulator: RunningSimulator) -> None:
    with httpx.Client(base_url=tls_simulator.base_url) as client, pytest.raises(httpx.ConnectError):
        client.get("/_simulator/health")


def test_localhost_is_in_the_certificate(tls_simulator: RunningSimulator) -> None:
    assert tls_simulator.ca_bundle is not None
    context = ssl.create_default_context(cafile=str(tls_simulator.ca_bundle))
    url = f"https://localhost:{tls_simulator.port}/_simulator/health"
    assert httpx.get(url, verify=context).json() == {"status": "ok"}
