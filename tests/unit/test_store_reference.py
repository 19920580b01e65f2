"""open_store: which reference string opens which store (no network needed)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from attestlake.errors import InputError
from attestlake.store import open_store
from attestlake.store.layout import LayoutStore
from attestlake.store.registry import RegistryStore


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("opening a store must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.delenv("ATTESTLAKE_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("ATTESTLAKE_REGISTRY_PASSWORD", raising=False)


@pytest.mark.parametrize(
    ("ref", "base_url", "repository"),
    [
        ("127.0.0.1:5000/a/b", "http://127.0.0.1:5000", "a/b"),
        ("localhost:5000/lake", "http://localhost:5000", "lake"),
        ("registry.example.com/a", "https://registry.example.com", "a"),
        (
            "registry.example.com:8443/team/attestations",
            "https://registry.example.com:8443",
            "team/attestations",
        ),
        ("http://registry.internal:5000/a", "http://registry.internal:5000", "a"),
        ("https://127.0.0.1:5000/a", "https://127.0.0.1:5000", "a"),
    ],
)
def test_registry_references(ref: str, base_url: str, repository: str) -> None:
    store = open_store(ref)
    assert isinstance(store, RegistryStore)
    assert store.base_url == base_url
    assert store.repository == repository
    assert store.ref == f"{base_url}/{repository}"
    again = open_store(store.ref)  # ref re-opens the same store
    assert isinstance(again, RegistryStore)
    assert (again.base_url, again.repository) == (base_url, repository)


def test_registry_credentials_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTESTLAKE_REGISTRY_USERNAME", "alice")
    monkeypatch.setenv("ATTESTLAKE_REGISTRY_PASSWORD", "hunter2-secret")
    store = open_store("registry.example.com/a", max_blob_size=1234)
    assert isinstance(store, RegistryStore)
    assert store.username == "alice"
    assert store.max_blob_size == 1234
    assert "hunter2-secret" not in repr(store)
    assert "hunter2-secret" not in store.ref


def test_oci_prefix_is_a_layout(tmp_path: Path) -> None:
    store = open_store(f"oci:{tmp_path}/x")
    assert isinstance(store, LayoutStore)
    assert store.root == tmp_path / "x"
    assert not (tmp_path / "x").exists()  # created on first write only


def test_oci_absolute_path_is_a_layout() -> None:
    store = open_store("oci:/x")
    assert isinstance(store, LayoutStore)
    assert store.root == Path("/x")


def test_relative_path_is_a_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("./x")
    assert isinstance(store, LayoutStore)
    assert store.root == Path("./x")


def test_bad_registry_reference() -> None:
    with pytest.raises(InputError, match="repository"):
        open_store("registry.example.com/UPPER")
