"""Helm charts: the ``.tgz`` that ``helm package`` writes, read in memory and never extracted.

A chart archive holds one directory, the chart's, with ``Chart.yaml`` (``apiVersion`` v1 or
v2, ``name``, ``version``) and usually ``values.yaml``, which, when present, is a YAML mapping
or empty. The archive is read through :mod:`attestlake._internal.untrusted_archive` (size and
member bounds, no member outside the archive, links never followed), the YAML with the bounded
safe loader. The attestation records the chart's name, version, appVersion, type, its
dependencies and how many files it holds.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import yaml

from attestlake._internal.untrusted_archive import Archive, MalformedArchive, read_tgz
from attestlake._internal.untrusted_yaml import compose_bounded
from attestlake.errors import MaterialError
from attestlake.evidence.documents import Parser, items, obj, text_or_none

HELM_MEDIA_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
_TOP_FILES = ("Chart.yaml", "values.yaml")


def _parts(name: str) -> tuple[str, ...]:
    """The path's parts, ``./`` and doubled slashes dropped (``./skynet/Chart.yaml``)."""
    return PurePosixPath(name).parts


def _top_file(name: str) -> bool:
    parts = _parts(name)
    return len(parts) == 2 and parts[1] in _TOP_FILES


def _yaml(raw: bytes, where: str) -> Any:
    try:
        return compose_bounded(raw.decode("utf-8"))[1]
    except UnicodeDecodeError:
        raise MaterialError(f"{where}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise MaterialError(f"{where}: not valid YAML: {problem}") from None


def _chart_yaml(archive: Archive, value: str) -> tuple[str, dict[str, Any]]:
    charts = sorted(n for n in archive.files if _parts(n)[1] == "Chart.yaml")
    if not charts:
        links = [n for n in archive.skipped if PurePosixPath(n).name == "Chart.yaml"]
        why = " (Chart.yaml is a link, which is not followed)" if links else ""
        raise MaterialError(f"{value}: not a Helm chart: no CHART/Chart.yaml in the archive{why}")
    if len(charts) > 1:
        raise MaterialError(
            f"{value}: holds {len(charts)} charts ({', '.join(charts[:3])}); a chart "
            "archive holds one"
        )
    chart = _yaml(archive.files[charts[0]], f"{value}!{charts[0]}")
    if not isinstance(chart, dict):
        raise MaterialError(f"{value}!{charts[0]}: Chart.yaml is not a YAML mapping")
    missing = [f for f in ("apiVersion", "name", "version") if not text_or_none(chart.get(f))]
    if missing:
        raise MaterialError(f"{value}!{charts[0]}: Chart.yaml has no {', '.join(missing)}")
    if chart["apiVersion"] not in ("v1", "v2"):
        raise MaterialError(
            f"{value}!{charts[0]}: Chart.yaml apiVersion {chart['apiVersion']!r} (v1 or v2)"
        )
    return _parts(charts[0])[0], chart


def helm_chart(data: bytes, value: str) -> dict[str, Any]:
    kind = "HELM_CHART"
    try:
        archive = read_tgz(data, _top_file, what=f"{value}: {kind}")
    except MalformedArchive as exc:
        raise MaterialError(f"{exc}; a {kind} is the .tgz 'helm package' writes") from None
    directory, chart = _chart_yaml(archive, value)
    values_name = next((n for n in archive.files if _parts(n) == (directory, "values.yaml")), None)
    if values_name is not None:
        values = _yaml(archive.files[values_name], f"{value}!{values_name}")
        if values is not None and not isinstance(values, dict):
            raise MaterialError(f"{value}!{values_name}: values.yaml is not a YAML mapping")
    return {
        "format": "HelmChart",
        "apiVersion": chart["apiVersion"],
        "name": str(chart["name"])[:128],
        "version": str(chart["version"])[:64],
        "appVersion": text_or_none(chart.get("appVersion")),
        "type": text_or_none(chart.get("type")) or "application",
        "dependencies": [
            f"{obj(d).get('name')}@{obj(d).get('version')}"[:160]
            for d in items(chart.get("dependencies"))[:50]
        ],
        "hasValues": values_name is not None,
        "files": len(archive.names),
    }


HELM_FORMATS: dict[str, tuple[str, Parser]] = {"HELM_CHART": (HELM_MEDIA_TYPE, helm_chart)}
