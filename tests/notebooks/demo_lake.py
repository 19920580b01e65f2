"""The demo lake the notebook tests read, with an ``sbom_components`` table.

Until the crawler writes ``sbom_components``, :func:`add_sbom_components` builds it the way
the crawler will: it reads each SBOM material's evidence blob (a CycloneDX document) from the
demo's OCI layout store and writes one row per component with ``deltalake.write_deltalake``.
If the crawler already filled the table, nothing is written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from attestlake.demo.demo import DemoResult, run_demo
from attestlake.lake.lake import Lake
from attestlake.store.layout import LayoutStore

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LOG4J = "pkg:maven/org.apache.logging.log4j/log4j-core"

COMPONENT_SCHEMA = pa.schema(
    [
        ("manifest_digest", pa.string()),
        ("sbom_digest", pa.string()),
        ("purl", pa.string()),
        ("name", pa.string()),
        ("version", pa.string()),
        ("type", pa.string()),
        ("trusted", pa.bool_()),
    ]
)


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
                    "trusted": True,
                }
            )
    return rows


def add_sbom_components(demo: DemoResult) -> None:
    """Write ``sbom_components`` into the demo lake unless the crawler already filled it."""
    path = demo.lake / "sbom_components"
    if DeltaTable.is_deltatable(str(path)):
        existing = DeltaTable(str(path)).to_pyarrow_dataset()
        if existing.count_rows():
            return
        schema = existing.schema
    else:
        schema = COMPONENT_SCHEMA
    rows = sbom_component_rows(demo)
    table = pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)
    write_deltalake(str(path), table, mode="append")


def build_demo_lake(directory: Path) -> DemoResult:
    """The sample organisation's lake (``attestlake demo``) with SBOM components."""
    demo = run_demo(directory, now=NOW)
    add_sbom_components(demo)
    return demo
