"""CycloneDX SBOMs of a workflow's builds, written fast: each component's JSON is made once.

A workflow lists the same stack build after build (a patch release now and then), so
:class:`SbomWriter` keeps each component's compact JSON (:meth:`Component.cyclonedx
<attestlake.demo.sample_organisation.Component.cyclonedx>`, with the sha256 that costs) and
joins them. The bytes are those of ``json.dumps(sbom_document(...), separators=(",", ":"))``
(:func:`attestlake.demo.sample_organisation.sbom_document`), and :func:`details` says what
the collector's CycloneDX reader records about them, without parsing them again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from attestlake.demo.sample_organisation import Component, sbom_document

_COMPACT = (",", ":")


@dataclass(frozen=True)
class Sbom:
    """One build's SBOM: its bytes and what the collector's reader says about them."""

    data: bytes
    details: dict[str, Any]
    components: int


class SbomWriter:
    """Writes SBOMs, keeping the JSON of every component it has written."""

    def __init__(self) -> None:
        self._fragments: dict[Component, str] = {}

    def _fragment(self, component: Component) -> str:
        fragment = self._fragments.get(component)
        if fragment is None:
            fragment = json.dumps(component.cyclonedx(), separators=_COMPACT)
            self._fragments[component] = fragment
        return fragment

    def write(
        self, name: str, version: str, components: tuple[Component, ...], describes: str | None
    ) -> Sbom:
        head = sbom_document(name, version, (), describes)
        text = json.dumps(head, separators=_COMPACT)
        assert text.endswith('"components":[]}')
        body = ",".join(self._fragment(c) for c in components)
        data = f"{text[:-2]}{body}]}}".encode()
        return Sbom(data, details(head, len(components)), len(components))


def details(document: dict[str, Any], components: int) -> dict[str, Any]:
    """What :func:`attestlake.evidence.material_formats.cyclonedx` records about an SBOM
    :func:`sbom_document` made, with ``components`` components."""
    main = document["metadata"]["component"]
    hashes = {h["alg"]: h["content"] for h in main.get("hashes") or []}
    return {
        "format": "CycloneDX",
        "specVersion": document["specVersion"],
        "components": components,
        "mainComponent": {
            "name": main.get("name"),
            "version": main.get("version"),
            "purl": main.get("purl"),
            "sha256": hashes.get("SHA-256"),
        },
    }
