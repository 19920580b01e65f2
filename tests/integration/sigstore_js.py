"""sigstore-js (npm ``@sigstore/verify``) for the tests: installed once per machine into the
virtual environment (``<venv>/node/sigstore-verify-<major>``), run with node through
``sigstore_verify.js``. Without node or npm, or when the install fails, the fixture skips (fails
when ``CI=true``)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: The major version pinned: @sigstore/verify 3 runs on node 20 (4 needs node 22).
MAJOR = 3
SCRIPT = Path(__file__).with_name("sigstore_verify.js")


class NotAvailable(Exception):
    """node or npm is missing, or @sigstore/verify could not be installed."""


@dataclass(frozen=True)
class Verdict:
    verified: bool
    code: str | None
    error: str | None


@dataclass(frozen=True)
class SigstoreJs:
    node: str
    modules: Path

    @classmethod
    def install(cls) -> SigstoreJs:
        node, npm = shutil.which("node"), shutil.which("npm")
        if node is None or npm is None:
            raise NotAvailable("node and npm are needed for @sigstore/verify (apt-get install npm)")
        prefix = Path(sys.prefix) / "node" / f"sigstore-verify-{MAJOR}"
        prefix.mkdir(parents=True, exist_ok=True)
        modules = prefix / "node_modules"
        with open(prefix / ".lock", "w") as lock:  # one installer at a time (xdist workers)
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (modules / "@sigstore" / "verify" / "package.json").is_file():
                _npm_install(npm, prefix)
        return cls(node, modules)

    def verify(self, bundle: Path, public_key: Path, hint: str) -> Verdict:
        """What @sigstore/verify says of a key-signed bundle, trusting ``public_key`` as
        ``hint``."""
        proc = subprocess.run(
            [self.node, str(SCRIPT), str(bundle), str(public_key), hint],
            env={**os.environ, "NODE_PATH": str(self.modules)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            raise AssertionError(f"the verifier crashed ({proc.returncode}): {proc.stderr}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert out["verified"] is (proc.returncode == 0), proc.stdout
        return Verdict(out["verified"], out.get("code"), out.get("error"))


def _npm_install(npm: str, prefix: Path) -> None:
    proc = subprocess.run(
        [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
         f"@sigstore/verify@{MAJOR}"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.split()[-40:])
        raise NotAvailable(f"npm install @sigstore/verify@{MAJOR} failed: {tail}")
