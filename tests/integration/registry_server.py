"""Start and stop a real CNCF distribution registry (``docker-registry``) for tests.

Reusable outside the fixtures (e.g. to put a proxy in front of it)::

    server = RegistryServer(tmp_dir)  # or RegistryServer(tmp_dir, auth=("user", "pass"))
    server.start()
    try:
        ...  # server.url == "http://127.0.0.1:PORT", server.host == "127.0.0.1:PORT"
    finally:
        server.stop()

Only the process this object started is ever stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REGISTRY_BIN = "docker-registry"
HTPASSWD_BIN = "htpasswd"


class RegistryNotAvailable(RuntimeError):
    """A binary the registry needs is not installed."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RegistryServer:
    """One ``docker-registry serve`` process on 127.0.0.1 with storage under ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        *,
        auth: tuple[str, str] | None = None,
        extra_config: dict[str, object] | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        """``auth``: htpasswd user and password; ``extra_config``: top-level config entries
        merged over the defaults (e.g. ``{"auth": {"token": {...}}}``)."""
        self.workdir = Path(workdir)
        self.auth = auth
        self.extra_config = dict(extra_config or {})
        self.startup_timeout = startup_timeout
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_path = self.workdir / "registry.stderr"

    # -- addresses ----------------------------------------------------------------------
    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def username(self) -> str | None:
        return self.auth[0] if self.auth else None

    @property
    def password(self) -> str | None:
        return self.auth[1] if self.auth else None

    # -- lifecycle ----------------------------------------------------------------------
    @staticmethod
    def missing_binaries(*, auth: bool = False) -> list[str]:
        names = [REGISTRY_BIN] + ([HTPASSWD_BIN] if auth else [])
        return [name for name in names if shutil.which(name) is None]

    def _write_config(self) -> Path:
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.workdir / "data")},
                "delete": {"enabled": True},
            },
            "http": {"addr": self.host, "secret": "attestlake-test-secret"},
        }
        if self.auth is not None:
            user, password = self.auth
            out = subprocess.run(
                [HTPASSWD_BIN, "-Bbn", user, password], check=True, capture_output=True
            ).stdout
            htpasswd = self.workdir / "htpasswd"
            htpasswd.write_bytes(out.strip() + b"\n")
            config["auth"] = {"htpasswd": {"realm": "attestlake-test", "path": str(htpasswd)}}
        config.update(self.extra_config)
        path = self.workdir / "config.yml"
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        return path

    def stderr(self) -> str:
        try:
            return self._stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> RegistryServer:
        missing = self.missing_binaries(auth=self.auth is not None)
        if missing:
            raise RegistryNotAvailable(f"not installed: {', '.join(missing)}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Keep REGISTRY_* variables from the environment out: they override the config.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        for _attempt in range(3):  # the free port can be taken between probe and bind
            self.port = free_port()
            config = self._write_config()
            with open(self._stderr_path, "wb") as err:
                self._proc = subprocess.Popen(
                    [REGISTRY_BIN, "serve", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                    env=env,
                )
            if self._wait_ready():
                return self
            self.stop()
            if "address already in use" not in self.stderr():
                break
        raise RuntimeError(
            f"docker-registry did not answer GET {self.url}/v2/ within "
            f"{self.startup_timeout}s; its stderr:\n{self.stderr()[-4000:]}"
        )

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=1):
                    return True
            except urllib.error.HTTPError:
                return True  # 401 from an auth registry: it is up
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
