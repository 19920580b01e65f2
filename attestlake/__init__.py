"""attestlake: an attestation lake for the software supply chain.

Collect, sign and push in-toto attestations to OCI stores; crawl and verify them into Delta
tables; audit them with DuckDB saved queries, reports and notebooks.
"""

from __future__ import annotations

from attestlake._internal.version import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the command starts sooner
if TYPE_CHECKING:
    from typing import Any

    from attestlake.audit.queries import AuditLake


def open_lake(path: Any) -> AuditLake:
    """Open the lake at ``path``: a DuckDB connection with a view per table, and its saved
    queries (``lake.query(name, **params)``)."""
    from attestlake.audit.queries import AuditLake  # duckdb and deltalake load on first use

    return AuditLake.open(path)


__all__ = ["__version__", "open_lake"]
