"""Fixtures that start a real CNCF distribution registry (``docker-registry``) on 127.0.0.1.

Tests using them carry ``@pytest.mark.registry``. Without the binaries the fixtures skip, or
fail when ``CI=true`` (``scripts/test`` installs them there as root).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

try:  # tests/ is not a package: pytest put this directory on sys.path
    from registry_server import RegistryNotAvailable, RegistryServer
    from sigstore_js import NotAvailable, SigstoreJs
except ImportError:  # tests/ became a package
    from tests.integration.registry_server import (  # type: ignore[no-redef]
        RegistryNotAvailable,
        RegistryServer,
    )
    from tests.integration.sigstore_js import NotAvailable, SigstoreJs  # type: ignore[no-redef]


def _start(
    tmp_path_factory: pytest.TempPathFactory, auth: tuple[str, str] | None
) -> RegistryServer:
    missing = RegistryServer.missing_binaries(auth=auth is not None)
    if missing:
        packages = "docker-registry" + (" apache2-utils" if auth else "")
        reason = (
            f"{', '.join(missing)} not installed (apt-get install {packages}); "
            "scripts/test installs it when run as root"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    server = RegistryServer(tmp_path_factory.mktemp("registry"), auth=auth)
    try:
        return server.start()
    except RegistryNotAvailable as exc:  # raced with an uninstall: same rule as above
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry without auth: ``.url`` (``http://127.0.0.1:PORT``) and ``.host``."""
    server = _start(tmp_path_factory, None)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def registry_basic_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry with htpasswd auth: ``.url``, ``.host``, ``.username``, ``.password``."""
    server = _start(tmp_path_factory, ("attest-user", "s3cret-Pa55word"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry without auth for one test alone: for a test that lists every repository
    (``HOST/*``) or whose repository names other tests use too."""
    server = _start(tmp_path_factory, None)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sigstore_js() -> SigstoreJs:
    """sigstore-js's ``@sigstore/verify``, installed once (see ``sigstore_js.py``); skips
    without node or npm, fails when ``CI=true``."""
    try:
        return SigstoreJs.install()
    except NotAvailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
