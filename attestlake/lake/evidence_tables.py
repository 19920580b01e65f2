"""What a run's evidence files say, row by row: ``sarif_results`` (code and vulnerability
scanning), ``junit_cases`` (tests) and ``vex_statements`` (OpenVEX). Trusted tables: rows only
from files whose digest a verified run statement names.

Each row names the run, the material and the file (``material_digest``) it was read from, and
its ``position`` in that file. A file that cannot be read, or is read only in part (over the
row bound), gets a row whose ``problem`` says so and whose other columns are NULL.
"""

from __future__ import annotations

import pyarrow as pa

from attestlake.lake.table_schema import TIMESTAMP, Table, crawled

_FILE = ("run_id", "manifest_digest", "envelope_digest", "material_name", "material_digest")
_WHERE = ("source", "run_date")
_KEY = ("manifest_digest", "envelope_digest", "material_digest", "position")

SARIF_RESULTS = Table(
    "sarif_results",
    crawled(
        *_FILE,
        ("position", pa.int64()),
        "tool",
        "tool_version",
        "rule_id",
        "vulnerability_id",
        "level",
        "message",
        "uri",
        ("line", pa.int64()),
        "problem",
        *_WHERE,
    ),
    key=_KEY,
    no_statistics=("message",),
)

JUNIT_CASES = Table(
    "junit_cases",
    crawled(
        *_FILE,
        ("position", pa.int64()),
        "suite",
        "classname",
        "case_name",
        "status",
        ("time", pa.float64()),
        "message",
        "problem",
        *_WHERE,
    ),
    key=_KEY,
    no_statistics=("message",),
)

VEX_STATEMENTS = Table(
    "vex_statements",
    crawled(
        *_FILE,
        ("position", pa.int64()),
        "vulnerability_id",
        "aliases",
        "product",
        "status",
        "justification",
        "impact_statement",
        ("issued_at", TIMESTAMP),
        "problem",
        *_WHERE,
    ),
    key=(*_KEY, "product"),
    no_statistics=("impact_statement",),
)
