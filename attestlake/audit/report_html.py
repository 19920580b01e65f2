"""The HTML report: one self-contained page (inline CSS, no script, no external URL).

Layout: a header (lake, time, highest severity), a summary (findings per severity as coloured
cards, then one line per query with its count and, given a previous report, the trend), then
one section per query (title, severity, description, parameters and its rows, capped).

Everything that comes from the lake is untrusted and HTML-escaped; titles and descriptions of
saved queries are escaped too. A Content-Security-Policy forbids scripts, frames, external
fetches and form submissions, so even a value that slipped through could not run or call home.
"""

from __future__ import annotations

from html import escape

from attestlake._internal.version import __version__
from attestlake.audit.queries import QueryResult
from attestlake.audit.query_files import SEVERITIES
from attestlake.audit.report import COUNTING_NOTE, ROWS_NOTE, Report, findings_line
from attestlake.audit.trend import Change, Trend
from attestlake.lake.render import SEVERITY_COLOURS, html_table, plain_value

MAX_HTML_ROWS = 50
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'"

_CSS = """
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans",
  "DejaVu Sans", sans-serif; color: var(--fg); background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0; display: flex; align-items: center; gap: 10px;
  flex-wrap: wrap; }
code { font: 13px/1.4 ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, monospace;
  background: var(--bg-soft); padding: 1px 5px; border-radius: 4px; }
.meta { color: var(--muted); margin: 0; }
.meta code { color: var(--fg); }
.badge { display: inline-block; color: #fff; border-radius: 999px; padding: 1px 10px;
  font-size: 12px; font-weight: 600; letter-spacing: .03em; text-transform: uppercase;
  line-height: 20px; white-space: nowrap; }
.cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin: 22px 0; }
.card { border: 1px solid var(--line); border-top: 5px solid var(--c); border-radius: 8px;
  padding: 10px 14px; }
.card .n { font-size: 30px; font-weight: 700; line-height: 1.2; }
.card .label { color: var(--muted); text-transform: uppercase; font-size: 12px;
  font-weight: 600; letter-spacing: .04em; }
.card.zero { opacity: .55; border-top-color: var(--line); }
section { margin-top: 30px; }
.query { border: 1px solid var(--line); border-left: 5px solid var(--c); border-radius: 8px;
  padding: 16px 20px; }
.query p { margin: 8px 0; }
.count { color: var(--muted); font-weight: 500; font-size: 15px; }
.missing-tag { color: #9a3412; font-size: 12px; font-weight: 600; }
.ok { color: #1a7f37; font-weight: 600; }
.missing { color: #9a3412; background: #fff7ed; border: 1px solid #fed7aa; border-radius: 6px;
  padding: 6px 10px; }
.scroll { overflow-x: auto; margin-top: 10px; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { text-align: left; padding: 5px 7px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; white-space: nowrap; }
td { max-width: 34em; overflow-wrap: break-word; }
td.long { word-break: break-all; }
.nw { white-space: nowrap; }
td.long { min-width: 9em; }
.digest { font: 11.5px/1.4 ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, monospace; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
.null { color: #8c959f; font-style: italic; }
.more, .empty { color: var(--muted); font-style: italic; }
.overview td:first-child { width: 1%; white-space: nowrap; }
.overview a { color: inherit; }
.up { color: #b91c1c; font-weight: 600; }
.down { color: #1a7f37; font-weight: 600; }
.same, .new { color: var(--muted); }
footer { margin-top: 36px; color: var(--muted); font-size: 13px; }
@media (max-width: 800px) { .cards { grid-template-columns: repeat(2, 1fr); } }
@media print { .query { break-inside: avoid; } }
"""


def _when(report: Report) -> str:
    return str(plain_value(report.generated_at.replace(microsecond=0)))


def _badge(severity: str) -> str:
    colour = SEVERITY_COLOURS.get(severity, "#4b5563")
    return f'<span class="badge" style="background:{colour}">{escape(severity)}</span>'


def _missing(result: QueryResult) -> str:
    return "".join(
        f'<p class="missing"><strong>Input missing:</strong> {escape(m.message)}</p>'
        for m in result.missing
    )


def _change(change: Change | None) -> str:
    if change is None:
        return ""
    if change.previous is None:
        return '<span class="new">new</span>'
    delta = f" ({change.delta:+d})" if change.delta else ""
    return (
        f'{change.previous} → {change.current} <span class="{change.direction}">'
        f"{change.arrow}{delta}</span>"
    )


def _header(report: Report) -> str:
    top = report.max_severity()
    return (
        "<header><h1>Attestation lake report</h1>"
        f'<p class="meta">Lake <code>{escape(report.lake)}</code> · generated '
        f"{escape(_when(report))} · highest severity: "
        + (_badge(top) if top else '<span class="ok">none</span>')
        + "</p></header>"
    )


def _summary(report: Report, changes: dict[str, Change]) -> str:
    counts = report.findings_by_severity()
    cards = "".join(
        f'<div class="card{"" if counts[s] else " zero"}" '
        f'style="--c:{SEVERITY_COLOURS[s]}"><div class="n">{counts[s]}</div>'
        f'<div class="label">{escape(s)}</div></div>'
        for s in reversed(SEVERITIES)
    )
    trend_head = "<th>Trend</th>" if changes else ""
    lines = "".join(
        f"<tr><td>{_badge(r.query.severity)}</td>"
        f'<td><a href="#q-{escape(r.query.name)}">{escape(r.query.title)}</a>'
        + ('<br><span class="missing-tag">input missing</span>' if r.missing else "")
        + f'</td><td class="num">{r.findings}</td><td class="num">{r.count}</td>'
        + (f"<td>{_change(changes.get(r.query.name))}</td>" if changes else "")
        + "</tr>"
        for r in report.ordered()
    )
    unanswered = "".join(
        f'<p class="missing"><strong>Input missing:</strong> {escape(message)} (for '
        + ", ".join(f"<code>{escape(name)}</code>" for name in names)
        + ")</p>"
        for message, names in report.missing_inputs().items()
    )
    return (
        '<section class="summary"><h2>Summary</h2>'
        f'<div class="cards">{cards}</div><p class="meta">{escape(COUNTING_NOTE)}</p>'
        + unanswered
        + _trend_line(report.trend)
        + '<table class="overview"><thead><tr><th>Severity</th><th>Query</th>'
        f'<th class="num">Findings</th><th class="num">Rows</th>{trend_head}</tr></thead>'
        f"<tbody>{lines}</tbody></table></section>"
    )


def _trend_line(trend: Trend | None) -> str:
    if trend is None:
        return ""
    before, now = trend.totals()
    when = trend.previous.generated_at or "an earlier run"
    if trend.previous.counted_rows:
        return f'<p class="meta">{escape(ROWS_NOTE)} ({escape(when)}).</p>'
    direction = "up" if now > before else "down" if now < before else "same"
    arrow = {"up": "↑", "down": "↓", "same": "→"}[direction]
    return (
        f'<p class="meta">Since the report of {escape(when)}: {before} → {now} findings '
        f'<span class="{direction}">{arrow}</span></p>'
    )


def _section(result: QueryResult, change: Change | None) -> str:
    q = result.query
    colour = SEVERITY_COLOURS.get(q.severity, "#4b5563")
    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    table = html_table(result.table, limit=MAX_HTML_ROWS, short_digests=True)
    if result.count:
        body = _missing(result) + f'<div class="scroll">{table}</div>'
    elif result.missing:
        body = _missing(result) + '<p class="empty">No rows, which proves nothing without it.</p>'
    else:
        body = '<p class="ok">No findings.</p>'
    trend = f" · trend {_change(change)}" if change is not None else ""
    return (
        f'<section class="query" id="q-{escape(q.name)}" style="--c:{colour}">'
        f"<h2>{_badge(q.severity)} {escape(q.title)} "
        f'<span class="count">{escape(findings_line(result))}</span></h2>'
        f"<p>{escape(q.description)}</p>"
        f'<p class="meta">Query <code>{escape(q.name)}</code>'
        + (f" · parameters <code>{escape(params)}</code>" if params else "")
        + f"{trend}</p>{body}</section>"
    )


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    changes = {c.name: c for c in report.trend.changes} if report.trend else {}
    sections = "\n".join(_section(r, changes.get(r.query.name)) for r in report.ordered())
    title = f"Attestation lake report · {_when(report)}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style></head>\n"
        f"<body><main>\n{_header(report)}\n{_summary(report, changes)}\n{sections}\n"
        f"<footer>attestlake {escape(__version__)} · at most {MAX_HTML_ROWS} rows "
        "per query and digests shortened (hover for the full value); the JSON report "
        "has every row in full.</footer>\n"
        "</main></body></html>\n"
    )
