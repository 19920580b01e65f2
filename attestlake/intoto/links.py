"""in-toto links: the signed record of one supply-chain step (``in-toto-run``), with the
artifacts it read (materials) and wrote (products) and the command it ran.

A link is signed two ways: in a DSSE envelope (``in-toto-run --use-dsse``: payload type
``application/vnd.in-toto+json``, payload ``{"_type": "link", ...}``), or in the older
metablock that in-toto 3 still writes by default (``{"signed": {...}, "signatures": [...]}``,
each signature the hex of a signature over the canonical JSON of ``signed``,
:mod:`attestlake.intoto.canonical`). Both are parsed strictly here; nothing is verified.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from attestlake.errors import ContentError
from attestlake.intoto.canonical import encode_canonical
from attestlake.intoto.dsse import (
    MAX_SIGNATURES,
    Signature,
)

LINK_TYPE = "link"
#: The formats recorded for a link: in a DSSE envelope, and in a metablock.
DSSE_LINK_FORMAT = "in-toto-link-dsse"
METABLOCK_LINK_FORMAT = "in-toto-link"
MATERIAL, PRODUCT = "material", "product"


@dataclass(frozen=True)
class LinkArtifact:
    """One digest of one artifact a step read (``material``) or wrote (``product``)."""

    kind: str
    path: str
    algorithm: str
    digest: str


@dataclass(frozen=True)
class Link:
    #: The step the link records (its ``name``).
    step: str
    command: tuple[str, ...]
    artifacts: tuple[LinkArtifact, ...]

    @property
    def command_json(self) -> str:
        return json.dumps(list(self.command), separators=(",", ":"), ensure_ascii=False)


def _artifacts(kind: str, value: Any, where: str) -> list[LinkArtifact]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise ContentError(f"link {where} is not an object of path -> digests")
    out: list[LinkArtifact] = []
    for path, digests in value.items():
        if not isinstance(digests, dict) or not all(
            isinstance(a, str) and isinstance(d, str) for a, d in digests.items()
        ):
            raise ContentError(f"link {where}[{path!r}] is not an object of algorithm -> digest")
        out.extend(LinkArtifact(kind, path, a, d) for a, d in sorted(digests.items()))
    return out


def parse_link(obj: Any) -> Link:
    """A link from its JSON object (``_type: link``); ContentError when malformed."""
    if not isinstance(obj, dict) or obj.get("_type") != LINK_TYPE:
        raise ContentError("not an in-toto link (_type is not 'link')")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise ContentError("link has no name (the step it records)")
    command = obj.get("command", [])
    if not isinstance(command, list) or not all(isinstance(c, str) for c in command):
        raise ContentError("link command is not a list of strings")
    artifacts = [
        *_artifacts(MATERIAL, obj.get("materials"), "materials"),
        *_artifacts(PRODUCT, obj.get("products"), "products"),
    ]
    return Link(name, tuple(command), tuple(artifacts))


def is_link(obj: Any) -> bool:
    """True if a parsed in-toto payload claims to be a link (``_type: link``)."""
    return isinstance(obj, dict) and obj.get("_type") == LINK_TYPE


@dataclass(frozen=True)
class Metablock:
    """An in-toto metablock holding a link: the link, the exact bytes its signatures sign
    (the canonical JSON of ``signed``) and the signatures."""

    link: Link
    signed: bytes
    signatures: tuple[Signature, ...]


def _signature(value: Any, i: int) -> Signature:
    if not isinstance(value, dict):
        raise ContentError(f"metablock signatures[{i}] is not an object")
    keyid, sig = value.get("keyid", ""), value.get("sig")
    if not isinstance(keyid, str) or not isinstance(sig, str):
        raise ContentError(f"metablock signatures[{i}] needs a keyid and a hex sig")
    try:
        return Signature(keyid, bytes.fromhex(sig))
    except ValueError:
        raise ContentError(f"metablock signatures[{i}].sig is not hex") from None


def is_metablock(obj: dict[str, Any]) -> bool:
    return "signed" in obj and "signatures" in obj and "payloadType" not in obj


def parse_metablock(obj: dict[str, Any]) -> Metablock:
    """A metablock link; ContentError when malformed, :class:`NotALink` when it signs
    another in-toto document (a layout)."""
    signed, signatures = obj.get("signed"), obj.get("signatures")
    if not isinstance(signed, dict):
        raise ContentError("metablock 'signed' is not an object")
    if not isinstance(signatures, list):
        raise ContentError("metablock 'signatures' is not a list")
    if len(signatures) > MAX_SIGNATURES:
        raise ContentError(f"metablock has {len(signatures)} signatures, over {MAX_SIGNATURES}")
    kind = signed.get("_type")
    if kind != LINK_TYPE:
        raise NotALink(f"an in-toto metablock of _type {kind!r}: only links are read")
    link = parse_link(signed)
    sigs = tuple(_signature(s, i) for i, s in enumerate(signatures))
    return Metablock(link, encode_canonical(signed), sigs)


class NotALink(ContentError):
    """A well-formed in-toto metablock that is not a link (e.g. a layout)."""
