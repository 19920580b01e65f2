"""A bug in attestlake's verifier, normalisers or published-document reader is recorded as
``internal_error`` with its traceback logged, never as a verdict on the document; under
``ATTESTLAKE_STRICT=1`` (how the suite runs) it raises instead."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest

from attestlake.crawl.normalize import inspect_unit, run
from attestlake.crawl.sources import Document, Unit
from attestlake.intoto.predicates import RUN_PREDICATE_TYPE
from attestlake.verify import verify
from attestlake.verify.outcome import INTERNAL_ERROR, NOT_VERIFIED, STRICT_ENV, VERIFIED
from attestlake.verify.trust import TrustPolicy
from attestlake.verify.verify import load_policy, verify_files
from tests.unit.test_verify import Keys, write_policy

NOW = datetime(2024, 6, 1, tzinfo=UTC)
KEY = "sha256:" + "1" * 64
ENV = "sha256:" + "2" * 64
TRUSTED = ("runs", "subjects", "materials")


def boom(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise KeyError("secret-looking ghp_" + "a" * 36)


def run_statement() -> bytes:
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "app", "digest": {"sha256": "0" * 64}}],
            "predicateType": RUN_PREDICATE_TYPE,
            "predicate": {
                "run": {"id": "r1"},
                "workflow": {"name": "build", "project": "a"},
            },
        }
    ).encode()


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Unit, Path]:
    team = Keys(tmp_path, "team")
    policy = write_policy(tmp_path, f"keys:\n  - path: {team.rel_path}\n")
    envelope = team.sign(run_statement())
    return Unit(KEY, "store:run-r1", (Document(ENV, envelope),)), policy


@pytest.fixture
def lenient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STRICT_ENV, raising=False)


def test_the_document_verifies_without_the_bug(signed: tuple[Unit, Path]) -> None:
    unit, policy = signed
    rows = inspect_unit(unit, load_policy(policy), NOW).by_table
    assert rows["verifications"][0]["status"] == VERIFIED
    assert len(rows["runs"]) == 1


@pytest.mark.usefixtures("lenient")
def test_a_verifier_bug_is_internal_error_with_its_traceback_logged(
    signed: tuple[Unit, Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    unit, policy = signed
    monkeypatch.setattr(verify, "verify_document", boom)
    with caplog.at_level(logging.ERROR, logger="attestlake"):
        rows = inspect_unit(unit, load_policy(policy), NOW).by_table
    (row,) = rows["verifications"]
    assert (row["status"], row["reason"]) == (NOT_VERIFIED, INTERNAL_ERROR)
    assert row["detail"].startswith("the verifier failed (a bug in attestlake")
    assert not any(rows.get(table) for table in TRUSTED)
    (record,) = caplog.records
    assert "Traceback" in record.getMessage() and "boom" in record.getMessage()
    assert "ghp_" + "a" * 36 not in record.getMessage() + row["detail"]  # redacted


@pytest.mark.usefixtures("lenient")
def test_a_normaliser_bug_keeps_nothing_of_the_document_trusted(
    signed: tuple[Unit, Path], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    unit, policy = signed
    monkeypatch.setattr(run, "normalise", boom)
    with caplog.at_level(logging.ERROR, logger="attestlake"):
        rows = inspect_unit(unit, load_policy(policy), NOW).by_table
    (row,) = rows["verifications"]
    assert (row["status"], row["reason"]) == (NOT_VERIFIED, INTERNAL_ERROR)
    assert row["detail"].startswith("signature verified; its normaliser failed")
    assert row["signer"] == "keys/team.pub.pem"  # who signed it is still recorded
    assert [a["trusted"] for a in rows["attestations"]] == [False]
    assert not any(rows.get(table) for table in TRUSTED)
    assert len(caplog.records) == 1


@pytest.mark.usefixtures("lenient")
def test_verify_files_records_a_verifier_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policy.yaml").write_text("keys: []\n")
    (tmp_path / "a.json").write_bytes(run_statement())
    monkeypatch.setattr(verify, "verify_document", boom)
    (sourced,) = verify_files([tmp_path / "a.json"], load_policy(tmp_path / "policy.yaml"))
    assert (sourced.outcome.status, sourced.outcome.reason) == (NOT_VERIFIED, INTERNAL_ERROR)


def test_strict_mode_raises(signed: tuple[Unit, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_ENV, "1")
    unit, policy = signed
    monkeypatch.setattr(run, "normalise", boom)
    with pytest.raises(KeyError, match="secret-looking"):
        inspect_unit(unit, load_policy(policy), NOW)
    monkeypatch.setattr(verify, "verify_document", boom)
    with pytest.raises(KeyError):
        inspect_unit(unit, load_policy(policy), NOW)


@pytest.mark.usefixtures("lenient")
def test_a_published_reader_bug_is_recorded_on_the_revision(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from attestlake.crawl.normalize import published
    from attestlake.crawl.sources.interface import Published

    doc = Published("inventory", "org", 1, "sha256:" + "3" * 64, "2024-06-01T00:00:00Z", b"x: 1\n")
    monkeypatch.setitem(published._ROWS, "inventory", boom)
    with caplog.at_level(logging.ERROR, logger="attestlake"):
        unit = Unit(KEY, "store:inventory", published=doc)
        rows = inspect_unit(unit, TrustPolicy("policy.yaml", ()), NOW).by_table
    (row,) = rows["published_documents"]
    assert row["error"].startswith("the published-document reader failed (a bug in attestlake")
    assert (row["status"], row["reason"]) == ("not_verified", "malformed")
    assert set(rows) == {"published_documents"}
    assert len(caplog.records) == 1
