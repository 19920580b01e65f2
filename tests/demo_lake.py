"""The sample organisation (``attestlake demo``) built once per test session, read only.

Tests that only read the demo lake share the session fixture ``demo`` (tests/conftest.py);
tests that write take a copy (:func:`copy_demo`). At the end of the session the fixture checks
that no test wrote into the shared directory.

:func:`sbom_component_rows` is an oracle independent of the crawler: it reads every SBOM
material's evidence blob straight from the demo's OCI layout store, so tests can compare what
the crawler wrote into ``sbom_components`` with what the SBOMs hold.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from attestlake.demo.demo import DemoResult
from attestlake.lake.lake import Lake
from attestlake.store.layout import LayoutStore

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LOG4J = "pkg:maven/org.apache.logging.log4j/log4j-core"


def copy_demo(demo: DemoResult, target: Path) -> Path:
    """A private, writable copy of the demo directory (store, trust policy, lake, keys,
    reports); not the collectors' working directories of its runs, which no test reads."""
    top = str(demo.directory)
    shutil.copytree(demo.directory, target, ignore=lambda d, _: ["work"] if d == top else [])
    return target


def sbom_component_rows(demo: DemoResult) -> list[dict[str, Any]]:
    """One row per component of every SBOM material of a verified run, from the store."""
    store = LayoutStore(demo.store)
    with Lake.open(demo.lake) as lake:
        sboms = lake.sql(
            "SELECT manifest_digest, digest FROM materials WHERE starts_with(type, 'SBOM_')"
        ).to_pylist()
    rows: list[dict[str, Any]] = []
    for sbom in sboms:
        doc = json.loads(store.get_blob(sbom["digest"]))
        for c in doc.get("components") or []:
            rows.append(
                {
                    "manifest_digest": sbom["manifest_digest"],
                    "sbom_digest": sbom["digest"],
                    "purl": c.get("purl"),
                    "name": c.get("name"),
                    "version": c.get("version"),
                    "type": c.get("type"),
                }
            )
    return rows
