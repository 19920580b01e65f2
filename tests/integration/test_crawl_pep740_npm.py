"""A crawl of a folder of PyPI and npm attestations, through the CLI into a real lake: every
attestation of a provenance object or npm answer is its own verifications row (source
``file#<JSON pointer>``), its subject a ``subjects`` row, a publisher the certificate confirms
the row's project and workflow; hostile files are ``malformed`` rows and never stop the crawl;
a second crawl ingests nothing."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from attestlake import open_lake
from tests.integration.cli_helpers import run_cli
from tests.integration.test_npm_attestations import answer
from tests.integration.test_pep740 import attestations_of, identity, trusted_root

pytestmark = pytest.mark.corpus
PROVENANCE = "pypi_attestations-0.0.19.tar.gz.provenance"
GITLAB = "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation"


def hostile(genuine: dict[str, Any]) -> dict[str, bytes]:
    """Files that must each be one clear malformed row."""

    def changed(path: tuple[str, ...], value: Any) -> bytes:
        copy = json.loads(json.dumps(genuine))
        target = copy
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return json.dumps(copy).encode()

    not_der = base64.b64encode(b"not a certificate").decode()
    many = {"publisher": {"kind": "GitHub"}, "attestations": [{"version": 1}] * 1000}
    return {
        "wrong-version.attestation": changed(("version",), 2),
        "no-envelope.attestation": changed(("envelope",), None),
        "no-entries.attestation": changed(("verification_material", "transparency_entries"), []),
        "not-base64.attestation": changed(("envelope", "statement"), "%%% not base64 %%%"),
        "not-der.attestation": changed(("verification_material", "certificate"), not_der),
        "nested.provenance": b'{"version":1,"attestation_bundles":'
        + b"[" * 5000
        + b"]" * 5000
        + b"}",
        "thousand.provenance": json.dumps({"version": 1, "attestation_bundles": [many]}).encode(),
        "npm-empty.json": b'{"attestations": []}',
        "oversized.provenance": b'{"version":1,"attestation_bundles":[],"pad":"'
        + b"x" * (2 << 20)
        + b'"}',
    }


#: What each hostile file's detail says.
WHY = {
    "wrong-version.attestation": "only version 1",
    "no-envelope.attestation": "envelope is not a JSON object",
    "no-entries.attestation": "transparency_entries is not a non-empty list",
    "not-base64.attestation": "envelope.statement is not valid base64",
    "not-der.attestation": "not a DER X.509 certificate",
    "nested.provenance": "nest",
    "thousand.provenance": "over the bound of 64",
    "npm-empty.json": "not a non-empty list",
    "oversized.provenance": "over the 1048576-byte bound",
}


def test_crawl_puts_each_attestation_in_the_lake(
    pypi_assets: Path, corpus: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    provenance = json.loads((pypi_assets / PROVENANCE).read_text())
    slsa = attestations_of(pypi_assets, "pypi_attestations-0.0.19.tar.gz.slsa.attestation")
    provenance["attestation_bundles"][0]["attestations"] += slsa
    (folder / PROVENANCE).write_text(json.dumps(provenance))
    shutil.copy(pypi_assets / GITLAB, folder / GITLAB)
    (folder / "sigstore@3.0.0.json").write_text(json.dumps(answer(corpus)))
    genuine = attestations_of(pypi_assets, GITLAB)[0]
    for name, data in hostile(genuine).items():
        (folder / name).write_bytes(data)
    github, _ = identity(slsa[0])
    gitlab, _ = identity(genuine)
    (tmp_path / "trust.yaml").write_text(
        f"""trusted_root: "{trusted_root("production")}"
identities:
  - {{issuer: https://token.actions.githubusercontent.com, subject: "{github}"}}
  - {{issuer: https://gitlab.com, subject: "{gitlab}"}}
  - {{issuer: https://github.com/login/oauth, subject: brian@dehamer.com}}
  - issuer: https://token.actions.githubusercontent.com
    subject_regex: ^https://github\\.com/github/artifact-attestations-workflows/
"""
    )
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    args = ("crawl", "--from", str(folder), "--lake", "lake", "--trust", "trust.yaml")
    result = run_cli(tmp_path, *args, "--max-blob-size", "1M", "--json", env=env)
    assert result.code == 0, result.err
    lake = open_lake(tmp_path / "lake")
    try:
        rows = lake.sql(
            "SELECT source, status, reason, detail, format, predicate_type, project, workflow "
            "FROM verifications ORDER BY source"
        ).to_pylist()
        by_source = {r["source"].removeprefix(str(folder) + "/"): r for r in rows}
        verified = {
            s: (r["format"], r["predicate_type"])
            for s, r in by_source.items()
            if r["status"] == "verified"
        }
        assert verified == {
            f"{PROVENANCE}#/attestation_bundles/0/attestations/0": (
                "pypi-provenance",
                "https://docs.pypi.org/attestations/publish/v1",
            ),
            f"{PROVENANCE}#/attestation_bundles/0/attestations/1": (
                "pypi-provenance",
                "https://slsa.dev/provenance/v1",
            ),
            GITLAB: ("pep740-attestation", "https://docs.pypi.org/attestations/publish/v1"),
            "sigstore@3.0.0.json#/attestations/0": (
                "npm-attestation",
                "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
            ),
            "sigstore@3.0.0.json#/attestations/1": (
                "npm-attestation",
                "https://slsa.dev/provenance/v1",
            ),
        }
        row = by_source[f"{PROVENANCE}#/attestation_bundles/0/attestations/0"]
        assert (row["project"], row["workflow"]) == ("trailofbits/pypi-attestations", "release.yml")
        for name, why in WHY.items():
            bad = by_source[name]
            assert (bad["status"], bad["reason"]) == ("not_verified", "malformed"), name
            assert why in bad["detail"], (name, bad["detail"])
        assert len(by_source) == len(verified) + len(WHY)
        subjects = lake.sql(
            "SELECT DISTINCT name, digest FROM subjects WHERE name LIKE '%.tar.gz' ORDER BY name"
        ).to_pylist()
        assert subjects == [
            {
                "name": "gitlab_oidc_project-0.0.3.tar.gz",
                "digest": "sha256:c1ca9b0d85df1606451098233018534497bf584362e10e4a8c21dfaea92c02a8",
            },
            {
                "name": "pypi_attestations-0.0.19.tar.gz",
                "digest": "sha256:9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3",
            },
        ]
    finally:
        lake.close()
    again = run_cli(tmp_path, *args, "--max-blob-size", "1M", "--json", env=env)
    assert again.code == 0, again.err
    assert again.json()["documents"] == 0
