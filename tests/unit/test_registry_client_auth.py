"""Credentials never travel unencrypted: a registry reached over HTTPS that names a token
server over plain HTTP is refused before anything is sent there."""

from __future__ import annotations

import pytest

from attestlake.errors import StoreError
from attestlake.store.registry_client import RegistryClient


def test_an_https_registry_naming_a_plain_http_token_server_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = RegistryClient(
        "https://registry.example.com", "team/app", username="u", password="secret-password"
    )
    sent: list[str] = []
    monkeypatch.setattr(client, "_send", lambda method, url, **kw: sent.append(url))
    with pytest.raises(StoreError, match="over plain HTTP: refused") as caught:
        client._fetch_token({"realm": "http://auth.example.com/token", "service": "registry"})
    assert sent == []
    assert "secret-password" not in str(caught.value)


def test_an_http_registry_may_name_an_http_token_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A local registry over plain HTTP (127.0.0.1) has its token server there too."""
    client = RegistryClient("http://127.0.0.1:5000", "team/app")
    sent: list[str] = []

    def send(method: str, url: str, **kw: object) -> None:
        sent.append(url)
        raise StoreError("stop here")

    monkeypatch.setattr(client, "_send", send)
    with pytest.raises(StoreError, match="stop here"):
        client._fetch_token({"realm": "http://127.0.0.1:5001/token"})
    assert sent == ["http://127.0.0.1:5001/token"]
