"""Start and stop an S3-compatible endpoint (moto's S3 backend, from the dev extra, served by
:mod:`tests.integration.s3_app`) on 127.0.0.1.

    server = S3Server().start()
    try:
        server.create_bucket("lake")  # server.url == "http://127.0.0.1:PORT"
        ... # server.env(): the AWS variables that reach it
    finally:
        server.stop()

Only the process this object started is ever stopped (by its id).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
#: The secret the tests give the lake: it must never appear in any output.
SECRET_KEY = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: The server script, run by this interpreter.
APP = Path(__file__).with_name("s3_app.py")


class S3Server:
    """One process serving S3 on 127.0.0.1 (moto's S3 backend)."""

    def __init__(self, startup_timeout: float = 30.0) -> None:
        self.port = _free_port()
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **overrides: str) -> dict[str, str]:
        """The AWS variables that reach this endpoint with valid credentials."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.url,
            **overrides,
        }

    def start(self) -> S3Server:
        if importlib.util.find_spec("moto") is None:
            raise RuntimeError("moto is not installed (pip install 'moto[server]')")
        self._proc = subprocess.Popen(
            [sys.executable, str(APP), str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the S3 server exited with {self._proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the S3 server did not listen on {self.url} within the timeout")

    def client(self) -> object:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)  # type: ignore[attr-defined]

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in ``bucket`` under ``prefix``."""
        pages = self.client().get_paginator("list_objects_v2")  # type: ignore[attr-defined]
        return [
            o["Key"]
            for p in pages.paginate(Bucket=bucket, Prefix=prefix)
            for o in p.get("Contents", [])
        ]

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
