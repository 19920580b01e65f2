"""attestlake: an attestation lake for the software supply chain.

Collect, sign and push in-toto attestations to OCI stores; crawl and verify them into Delta
tables; audit them with DuckDB saved queries, reports and notebooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from attestlake.lake.lake import Lake


def open_lake(path: Any) -> Lake:
    """Open the lake at ``path``: a DuckDB connection with a view per table."""
    from attestlake.lake.lake import Lake

    return Lake.open(path)


__all__ = ["__version__", "open_lake"]
