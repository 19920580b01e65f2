"""SBOMs (CycloneDX JSON and SPDX 2.x JSON) exploded into ``sbom_components``.

An SBOM reaches the lake four ways (the ``carrier`` column): as the predicate of a statement,
inside a witness attestation collection, as an evidence file pushed beside a run's envelope
(its digest named by the signed statement), or as a bare document found in a folder. At most
:data:`MAX_COMPONENTS` components of one SBOM become rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from attestlake._internal.untrusted_json import MalformedJSON, loads
from attestlake.crawl.normalize.common import (
    Columns,
    Context,
    Rows,
    as_list,
    as_object,
    s,
    sha256_of,
    to_json,
)

#: Nested CycloneDX components deeper than this are not read (hostile input bound).
MAX_DEPTH = 16
#: Components of one SBOM exploded into rows; the rest are not (hostile input bound: each
#: ``{}`` of three bytes would otherwise become a row of hundreds).
MAX_COMPONENTS = 100_000
#: The columns of ``sbom_components`` read from each component, in the order the readers
#: give them.
COMPONENT_COLUMNS = ("bom_ref", "purl", "name", "version", "type", "group", "licenses", "hashes")
#: One component's values, in the order of :data:`COMPONENT_COLUMNS`.
Component = tuple[str | None, ...]


def sbom_format(doc: Any) -> str | None:
    """``CycloneDX`` or ``SPDX`` when ``doc`` is such an SBOM, else None."""
    if not isinstance(doc, dict):
        return None
    if doc.get("bomFormat") == "CycloneDX":
        return "CycloneDX"
    if isinstance(doc.get("spdxVersion"), str):
        return "SPDX"
    return None


def sbom_rows(ctx: Context, sbom: bytes | dict[str, Any], *, carrier: str, trusted: bool) -> Rows:
    """Component rows for one SBOM (nothing if it is not a CycloneDX or SPDX JSON SBOM)."""
    rows = Rows()
    digest = sha256_of(sbom) if isinstance(sbom, bytes) else None
    doc: Any = sbom
    if isinstance(sbom, bytes):
        try:
            doc = loads(sbom, max_bytes=len(sbom), what="SBOM")
        except MalformedJSON:
            return rows
    fmt = sbom_format(doc)
    if fmt is None:
        return rows
    if fmt == "CycloneDX":
        spec = s(doc.get("specVersion"))
        main = as_object(as_object(doc.get("metadata")).get("component"))
        name = s(main.get("name"))
        components = _cyclonedx(as_list(doc.get("components")), 0)
    else:
        spec = s(doc.get("spdxVersion"))
        name = s(doc.get("name"))
        components = _spdx(as_list(doc.get("packages")))
    found = list(itertools.islice(components, MAX_COMPONENTS))
    n = len(found)
    if not n:
        return rows
    read = dict(zip(COMPONENT_COLUMNS, map(list, zip(*found, strict=True)), strict=True))
    columns = Columns(
        {
            "manifest_digest": [ctx.manifest_digest] * n,
            "envelope_digest": [ctx.envelope_digest] * n,
            "sbom_digest": [digest] * n,
            "carrier": [carrier] * n,
            "sbom_format": [fmt] * n,
            "sbom_spec_version": [spec] * n,
            "sbom_name": [name] * n,
            **read,
            "trusted": [trusted] * n,
            "source": [ctx.source] * n,
        }
    )
    rows.add_columns("sbom_components", columns)
    return rows


def _hash_alg(alg: Any) -> str | None:
    return alg.replace("-", "").replace("_", "").lower() if isinstance(alg, str) and alg else None


def _hashes(entries: Any, alg_key: str, value_key: str) -> str | None:
    """The JSON text of a component's hashes (``{"sha256": "..."}``, algorithms named alike)
    from its list of hash objects, or None when none is readable."""
    out = {}
    for entry in as_list(entries):
        if isinstance(entry, dict):
            alg, value = _hash_alg(entry.get(alg_key)), entry.get(value_key)
            if alg and isinstance(value, str) and value:
                out[alg] = value
    return to_json(out) if out else None


def _licenses_cdx(value: Any) -> str | None:
    names: list[str] = []
    for entry in as_list(value):
        entry = as_object(entry)
        lic = as_object(entry.get("license"))
        name = s(lic.get("id")) or s(lic.get("name")) or s(entry.get("expression"))
        if name:
            names.append(name)
    return to_json(names) if names else None


#: The values of a CycloneDX component read as they are (non-empty strings), in the order of
#: :data:`COMPONENT_COLUMNS`.
_CDX_TEXT = ("bom-ref", "purl", "name", "version", "type", "group")


def _cyclonedx(components: list[Any], depth: int) -> Iterator[Component]:
    if depth > MAX_DEPTH:
        return
    for c in components:
        if not isinstance(c, dict):
            continue
        yield (
            *map(s, map(c.get, _CDX_TEXT)),
            _licenses_cdx(c.get("licenses")),
            _hashes(c.get("hashes"), "alg", "content"),
        )
        if "components" in c:
            yield from _cyclonedx(as_list(c["components"]), depth + 1)


def _spdx(packages: list[Any]) -> Iterator[Component]:
    for p in packages:
        if not isinstance(p, dict):
            continue
        purl = next(
            (
                s(ref.get("referenceLocator"))
                for ref in map(as_object, as_list(p.get("externalRefs")))
                if ref.get("referenceType") == "purl"
            ),
            None,
        )
        licenses = [
            lic
            for key in ("licenseConcluded", "licenseDeclared")
            if (lic := s(p.get(key))) and lic not in ("NOASSERTION", "NONE")
        ]
        yield (
            s(p.get("SPDXID")),
            purl,
            s(p.get("name")),
            s(p.get("versionInfo")),
            s(p.get("primaryPackagePurpose")),
            None,
            to_json(list(dict.fromkeys(licenses))) if licenses else None,
            _hashes(p.get("checksums"), "algorithm", "checksumValue"),
        )


def is_sbom_predicate(predicate_type: str | None, predicate: Any) -> bool:
    if sbom_format(predicate) is not None:
        return True
    return bool(predicate_type) and str(predicate_type).startswith(
        ("https://cyclonedx.org/bom", "https://spdx.dev/Document")
    )


def predicate_rows(ctx: Context) -> Rows:
    """A statement whose predicate is an SBOM (cosign, syft, GitHub SBOM attestations)."""
    return sbom_rows(ctx, ctx.predicate, carrier="predicate", trusted=ctx.outcome.verified)
