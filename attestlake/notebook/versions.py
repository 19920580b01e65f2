"""Version ranges for the component search: ``>=2.0,<2.18``, ``<2.17.2``, ``==1.2.3``, ``1.2.3``.

Package ecosystems order versions differently (Maven, npm, PyPI, Debian); this is one
approximation that is right for the common ``MAJOR.MINOR.PATCH[-suffix]`` shapes: numeric
segments compare as numbers, and letters after a version mark a pre-release, which sorts before
the release (``2.17.1-rc1 < 2.17.1 < 2.17.1.1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from attestlake.errors import InputError

_TOKEN_RE = re.compile(r"\d+|[A-Za-z]+")
_CLAUSE_RE = re.compile(
    r"^(?P<op>>=|<=|==|!=|>|<|=)?\s*(?P<version>[0-9A-Za-z][0-9A-Za-z.+_~:-]*)$"
)

#: A version's sort key: a tuple of (rank, value) pairs; numbers rank above the end marker,
#: which ranks above letters.
VersionKey = tuple[tuple[int, int | str], ...]


def version_key(version: str) -> VersionKey:
    """Sort key of ``version`` (see the module doc)."""
    key: list[tuple[int, int | str]] = []
    for token in _TOKEN_RE.findall(version):
        key.append((2, int(token)) if token.isdigit() else (0, token.lower()))
    key.append((1, ""))
    return tuple(key)


def _compare(left: str, right: str) -> int:
    a, b = version_key(left), version_key(right)
    return (a > b) - (a < b)


_TESTS = {
    ">=": lambda c: c >= 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    "<": lambda c: c < 0,
    "==": lambda c: c == 0,
    "=": lambda c: c == 0,
    "!=": lambda c: c != 0,
}


@dataclass(frozen=True)
class VersionRange:
    """Comma-separated clauses, all of which must hold; no clause matches every version."""

    text: str
    clauses: tuple[tuple[str, str], ...]

    def __contains__(self, version: object) -> bool:
        if not isinstance(version, str) or not version:
            return not self.clauses
        return all(_TESTS[op](_compare(version, bound)) for op, bound in self.clauses)


def parse_range(text: str | None) -> VersionRange:
    """Parse a version range; InputError saying what is expected if it cannot."""
    source = (text or "").strip()
    clauses: list[tuple[str, str]] = []
    for part in filter(None, (p.strip() for p in source.split(","))):
        match = _CLAUSE_RE.match(part)
        if not match:
            raise InputError(
                f"version range {source!r}: cannot read {part!r}; expected clauses like "
                "'>=2.0,<2.18', '<2.17.2' or '==1.2.3', separated by commas"
            )
        clauses.append((match["op"] or "==", match["version"]))
    return VersionRange(source, tuple(clauses))
