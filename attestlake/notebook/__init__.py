"""What the auditor notebooks call (``pip install attestlake[notebooks]``).

- :mod:`~attestlake.notebook.context`: which lake (parameter, ``$ATTESTLAKE_LAKE`` or the
  sample lake) and who owns each team.
- :mod:`~attestlake.notebook.audit`: the overview's numbers as polars frames, from those
  :mod:`~attestlake.notebook.frames` reads from the lake;
  :mod:`~attestlake.notebook.charts` draws them (matplotlib) and
  :mod:`~attestlake.notebook.overview` tabulates them.
- :mod:`~attestlake.notebook.widgets`: the ipywidgets filters and re-rendering outputs.
- :mod:`~attestlake.notebook.investigate`: digest → runs, image → digests, package → who ships it;
  :mod:`~attestlake.notebook.lookups` puts each behind an input box.
- :mod:`~attestlake.notebook.execute`: run a notebook headless and export static HTML.
"""

from __future__ import annotations

from attestlake.notebook.audit import AuditData
from attestlake.notebook.charts import (
    CHARTS,
    Chart,
    compliance_over_time,
    findings_by_query,
    revision_adoption,
    risk_ranking,
    verification_outcomes,
)
from attestlake.notebook.context import Context, open_context, sample_lake
from attestlake.notebook.investigate import find_component, find_digest, resolve_image
from attestlake.notebook.lookups import Lookups
from attestlake.notebook.overview import findings_table, risk_table, summary
from attestlake.notebook.selection import Selection
from attestlake.notebook.widgets import dashboard, filter_panel

__all__ = [
    "CHARTS",
    "AuditData",
    "Chart",
    "Context",
    "Lookups",
    "Selection",
    "compliance_over_time",
    "dashboard",
    "filter_panel",
    "find_component",
    "find_digest",
    "findings_by_query",
    "findings_table",
    "open_context",
    "resolve_image",
    "revision_adoption",
    "risk_ranking",
    "risk_table",
    "sample_lake",
    "summary",
    "verification_outcomes",
]
