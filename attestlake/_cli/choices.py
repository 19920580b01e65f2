"""Options that take one of a few values: a value outside them is a usage error (exit 2)
naming every valid value. Case does not matter (``--fail-on High`` is ``high``).

The values come from the library, read only when the command runs, so that the command line
starts without loading the modules that define them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def spelled(values: Sequence[str], value: str) -> str | None:
    """``value`` as ``values`` spell it (any case given), or None when it is none of them."""
    return {v.casefold(): v for v in values}.get(value.casefold())


def one_of(values: Callable[[], Sequence[str]]) -> Callable[[str | None], str | None]:
    """An option callback: the value as ``values()`` spells it (any case given), or
    BadParameter listing them all; None stays None."""

    def check(value: str | None) -> str | None:
        if value is None:
            return None
        valid = tuple(values())
        found = spelled(valid, value)
        if found is None:
            import typer

            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(valid)}")
        return found

    return check


def _table_formats() -> Sequence[str]:
    from attestlake.lake.render import FORMATS

    return FORMATS


def _output_formats() -> Sequence[str]:
    from attestlake.lake.render import OUTPUT_FORMATS

    return OUTPUT_FORMATS


def _report_formats() -> Sequence[str]:
    from attestlake.audit.formats import REPORT_FORMATS

    return REPORT_FORMATS


def _severities() -> Sequence[str]:
    from attestlake.audit.query_files import SEVERITIES

    return SEVERITIES


def triggers() -> Sequence[str]:
    from attestlake.collect.lifecycle import TRIGGERS

    return tuple(TRIGGERS)


def material_kinds() -> Sequence[str]:
    from attestlake.evidence.materials import MATERIAL_KINDS

    return sorted(MATERIAL_KINDS)


def _dialects() -> Sequence[str]:
    from attestlake.audit.dialects import DIALECTS

    return DIALECTS


#: ``--format`` of commands printing a table: table, json, csv.
TABLE_FORMAT = one_of(_table_formats)
#: ``--format`` of commands that may also write Parquet to a file.
OUTPUT_FORMAT = one_of(_output_formats)
#: ``--format`` of commands printing a verdict list: table or json.
VERDICT_FORMAT = one_of(lambda: ("table", "json"))
REPORT_FORMAT = one_of(_report_formats)
SEVERITY = one_of(_severities)
TRIGGER = one_of(triggers)
MATERIAL_KIND = one_of(material_kinds)
SQL_DIALECT = one_of(_dialects)
EXPORT_FORMAT = one_of(lambda: ("parquet",))
