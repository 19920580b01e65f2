"""JUnit XML reports (pytest, Maven Surefire, Gradle, go-junit-report, Jest...) into
``junit_cases`` rows.

One row per ``<testcase>``, in document order, with the name of the innermost
``<testsuite>`` around it: ``status`` is ``failed`` (a ``<failure>`` child), ``error`` (an
``<error>``), ``skipped`` (a ``<skipped>``) or ``passed``; ``message`` the first such child's
``message`` attribute, else its text. The XML is read by
:func:`attestlake._internal.untrusted_xml.events`: no DTD, no entity, bounded in size, one
element at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element

from attestlake._internal.untrusted_xml import events
from attestlake.crawl.normalize.common import bounded
from attestlake.errors import ContentError

#: A case's outcome by the tag of a child that says one (its first such child counts).
OUTCOMES = (("failure", "failed"), ("error", "error"), ("skipped", "skipped"))
_OUTCOME = dict(OUTCOMES)
_ROOTS = ("testsuites", "testsuite")
#: Bound on the nesting of elements: each open one is held (a few hundred bytes), so this
#: bounds that to tens of megabytes (a real report nests a few suites deep).
MAX_DEPTH = 250_000


def cases(data: bytes) -> Iterator[dict[str, Any]]:
    """The rows of a JUnit XML report, read element by element: an element is let go once
    read (of a case's children, only its first outcome is kept until the case ends), so
    memory holds the open elements only, at most :data:`MAX_DEPTH` of them; ContentError
    when it is not one, also part-way through."""
    suites: list[str | None] = []  # per open element: the innermost suite name around it
    held: list[list[Any]] = []  # per open element: it, and whether it keeps an outcome child
    for event, element in events(data, what="JUnit XML report"):
        tag = _tag(element)
        if event == "start":
            if not suites and tag not in _ROOTS:
                raise ContentError(f"the root element is <{tag}>, not <testsuites> or <testsuite>")
            if len(suites) >= MAX_DEPTH:
                raise ContentError(f"elements nest more than {MAX_DEPTH} deep")
            around = suites[-1] if suites else None
            suites.append((element.get("name") or around) if tag == "testsuite" else around)
            held.append([element, False])
            continue
        suites.pop()
        held.pop()
        if tag == "testcase":
            yield _case(element, suites[-1] if suites else None)
        if not held:
            continue
        parent = held[-1]
        if _tag(parent[0]) == "testcase" and tag in _OUTCOME and not parent[1]:
            parent[1] = True  # the case's first outcome: kept until the case ends
            continue
        # Its earlier siblings are gone already (but a kept outcome): found in a step or two.
        parent[0].remove(element)


def _tag(element: Element) -> str:
    """The local name of an element (a namespace dropped)."""
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _case(case: Element, suite: str | None) -> dict[str, Any]:
    status, message = "passed", None
    for child in case:
        outcome = _OUTCOME.get(_tag(child))
        if outcome is not None:
            status = outcome
            message = child.get("message") or (child.text or "").strip() or None
            break
    return {
        "suite": bounded(suite),
        "classname": bounded(case.get("classname")),
        "case_name": bounded(case.get("name")),
        "status": status,
        "time": _seconds(case.get("time")),
        "message": bounded(message),
    }


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float((value or "").replace(",", ""))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
