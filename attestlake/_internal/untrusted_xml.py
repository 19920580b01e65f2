"""The one reader of untrusted XML: bounded in size, no DTD, no entity, nothing fetched.

A JUnit XML report comes from a CI job or a store; read with a plain XML parser, a document
type declaration could define entities that expand a few kilobytes into gigabytes (billion
laughs) or name files and URLs to fetch. :func:`parse` refuses any DTD wherever it stands
(defusedxml's parser hooks, not a look at the first bytes), any entity declaration, and a
document over its size bound, with :class:`MalformedXML`, before an element is built.
:func:`events` reads a document element by element, so that a reader keeping only some of a
large document never holds all of it.

Coverage reports (JaCoCo, Cobertura) start with a document type that names an external DTD
(``<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd">``): with
``external_doctype`` :func:`parse` accepts such a declaration, and only that: the DTD is never
read or fetched (the parser loads no external subset), and an internal subset or an entity
declaration is still refused.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring, iterparse

from attestlake.errors import ContentError

#: Bound on the bytes of one XML document.
MAX_XML_BYTES = 64 * 1024 * 1024


class MalformedXML(ContentError, ValueError):
    """Untrusted bytes are not XML that attestlake reads; the message says why."""


def parse(
    data: bytes,
    *,
    what: str = "XML document",
    max_bytes: int = MAX_XML_BYTES,
    external_doctype: bool = False,
) -> Element:
    """The root element of ``data``; MalformedXML when it is too large, not well-formed, or
    declares a DTD (unless ``external_doctype``: a document type naming an external DTD, with
    no internal subset) or an entity."""
    if len(data) > max_bytes:
        raise MalformedXML(f"{what}: {len(data)} bytes, over the {max_bytes}-byte bound")
    if external_doctype and _internal_subset(data):
        raise MalformedXML(f"{what}: declares an internal DTD subset, which is refused")
    with _refusing(what):
        root: Element = fromstring(
            data, forbid_dtd=not external_doctype, forbid_entities=True, forbid_external=True
        )
    return root


@contextmanager
def _refusing(what: str) -> Iterator[None]:
    """The parser's refusals as MalformedXML: a DTD or an entity, or XML not well-formed."""
    try:
        yield
    except DefusedXmlException as exc:
        raise MalformedXML(
            f"{what}: declares a DTD or an entity ({type(exc).__name__}), which is refused"
        ) from None
    except ParseError as exc:
        raise MalformedXML(f"{what}: not well-formed XML ({exc})") from None


def _internal_subset(data: bytes) -> bool:
    """Whether the document type declaration of ``data`` (there is at most one) opens an
    internal subset (``[``) before it ends; one pass, whatever the bytes."""
    start = data.find(b"<!DOCTYPE")
    if start < 0:
        return False
    end, bracket = data.find(b">", start), data.find(b"[", start)
    return bracket >= 0 and (end < 0 or bracket < end)


def events(data: bytes, *, what: str = "XML document") -> Iterator[tuple[str, Element]]:
    """``("start", element)`` and ``("end", element)`` for each element of ``data``, in
    document order; MalformedXML (while iterating) as :func:`parse` says. An element's children
    are complete at its end event; clear it there to keep memory bounded."""
    if len(data) > MAX_XML_BYTES:
        raise MalformedXML(f"{what}: {len(data)} bytes, over the {MAX_XML_BYTES}-byte bound")
    with _refusing(what):
        yield from iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True)
