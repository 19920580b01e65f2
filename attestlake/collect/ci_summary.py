"""CI ergonomics: what the contract still needs, said where CI shows it.

In GitHub Actions (``GITHUB_ACTIONS=true``) the collector appends a Markdown job summary to
``$GITHUB_STEP_SUMMARY`` (materials, contract and its revision, what is missing and how to add
it, what the contract's policies said, where the run was pushed) and prints ``::error``
workflow commands, which GitHub shows as annotations on the run (one per missing requirement,
and one per violation of a gating policy that refused the push). Elsewhere the same
explanations are plain text lines.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from attestlake.collect.record import RunRecord, Status
from attestlake.contracts.model import MaterialRequirement

if TYPE_CHECKING:
    from attestlake.collect.policy_outcome import PolicyEvaluation
    from attestlake.collect.push import PushResult


def in_github_actions(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get("GITHUB_ACTIONS") == "true"


def explain_missing(att: RunRecord, status: Status) -> list[str]:
    """One sentence per missing requirement: what is missing, why, and how to supply it."""
    contract = f"contract {att.contract.name} revision {att.contract.revision}"
    out = []
    if not status.runner_allowed:
        out.append(
            f"runner {att.runner.type} is not allowed by {contract} (allowed: "
            f"{', '.join(att.contract.runner_types)}); this dry run cannot be pushed"
        )
    for name in status.missing_materials:
        req = att.contract.material(name)
        kind = req.kind if req else "?"
        out.append(
            f"material {name} ({kind}) is required by {contract}: add it with "
            f"'attestlake attest add --name {name} --value ...'"
        )
    for group in status.unmet_groups:
        out.append(
            f"at least one material of group {group.name} is required by {contract}: "
            f"{group.describe()}; add one with 'attestlake attest add --name NAME --value ...'"
        )
    for ann in status.missing_annotations:
        material, dot, key = ann.partition(".")
        how = (
            f"'attestlake attest add --name {material} --annotation {key}=...'"
            if dot
            else f"'attestlake attest push --annotation {ann}=...' (or on init)"
        )
        out.append(f"annotation {ann} is required by {contract}: give it with {how}")
    return out


def _absent(req: MaterialRequirement, status: Status) -> str:
    """The status cell of a contract material the run has not added."""
    if req.group is None:
        return "➖ optional, not added" if req.optional else "❌ missing (required)"
    met = next((m for g, m in status.groups if g.name == req.group), ())
    if met:
        return f"➖ not added (group {req.group} met by {', '.join(met)})"
    return f"❌ missing (group {req.group}: at least one of its materials)"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def error_annotations(
    att: RunRecord, status: Status, policies: Sequence[PolicyEvaluation] = ()
) -> list[str]:
    """GitHub ``::error`` workflow commands, one per missing requirement and one per recorded
    violation of a gating policy."""
    from attestlake.collect.policy_outcome import blocking  # on first use: steps import this

    title = _escape_property(f"attestlake: contract {att.contract.name}")
    lines = explain_missing(att, status)
    lines += [line for e in blocking(policies) for line in e.sentences()]
    return [f"::error title={title}::{_escape_data(m)}" for m in lines]


def warning_annotation(message: str) -> str:
    """A GitHub ``::warning`` workflow command (e.g. a contract pinned to an old revision)."""
    return f"::warning title=attestlake::{_escape_data(message)}"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def policy_markdown(policies: Sequence[PolicyEvaluation]) -> list[str]:
    """The summary's policy table, and each recorded violation."""
    if not policies:
        return []
    marks = {"passed": "✅ passed", "skipped": "➖ skipped", "violated": "❌ violated"}
    lines = ["", "| policy | gate | result | violations |", "| --- | --- | --- | --- |"]
    for e in policies:
        result = marks[e.status] + (f": {_cell(e.skipped)}" if e.skipped else "")
        gate = "yes" if e.gate else "no"
        lines.append(f"| {_cell(e.name)} | {gate} | {result} | {e.violation_count} |")
    violated = [line for e in policies for line in e.sentences()]
    if violated:
        lines += ["", "**Policy violations**", ""] + [f"- {_cell(v)}" for v in violated]
    return lines


def summary_markdown(
    att: RunRecord,
    status: Status,
    result: PushResult | None = None,
    *,
    step: str = "status",
    policies: Sequence[PolicyEvaluation] = (),
) -> str:
    """The job summary of the run after ``step`` (init, add, status, push, reset), with what
    the contract's ``policies`` said when they were evaluated."""
    from attestlake.collect.policy_outcome import blocking

    refused = blocking(policies)
    if result is not None:
        state = f"pushed ({result.status})" if not result.already_pushed else "already pushed"
        icon = "✅" if result.status == "success" else "⚠️"
    elif refused:
        names = ", ".join(_cell(e.name) for e in refused)
        state, icon = f"refused by gating policy {names}, nothing pushed", "❌"
    elif status.complete and status.runner_allowed:
        state, icon = "ready to push", "🟢"
    else:
        state, icon = "contract not satisfied", "❌"
    c = att.contract
    lines = [
        f"### {icon} attestlake: {_cell(att.project)} / {_cell(att.workflow)}: {state}",
        "",
        f"- contract **{_cell(c.name)}** revision {c.revision} (`{c.digest[:19]}…`)"
        + (f" from `{_cell(att.contract_source)}`" if att.contract_source else ""),
        f"- runner {att.runner.type}" + (f" ([run]({att.runner.url}))" if att.runner.url else ""),
        f"- run id `{att.run_id}` (step: {step})",
        "",
        "| material | kind | status | digest or value |",
        "| --- | --- | --- | --- |",
    ]
    present = {m.name: m for m in att.materials}
    for req in c.materials:
        m = present.get(req.name)
        if m is not None:
            mark = "✅ added" + (" (output)" if m.output else "")
            lines.append(f"| {req.name} | {req.kind} | {mark} | `{_cell(m.digest or m.value)}` |")
        else:
            lines.append(f"| {req.name} | {req.kind} | {_absent(req, status)} | |")
    for m in att.materials:
        if c.material(m.name) is None:
            value = _cell(m.digest or m.value)
            lines.append(f"| {m.name} | {m.kind} | ✅ added (not in contract) | `{value}` |")
    missing = explain_missing(att, status)
    if missing:
        lines += ["", "**What the contract still needs**", ""]
        lines += [f"- {_cell(m)}" for m in missing]
    lines += policy_markdown(policies)
    if result is not None:
        lines += [
            "",
            f"Pushed to `{_cell(result.store)}` as `{result.tag}` "
            f"(manifest `{result.manifest_digest}`), signed by `{_cell(result.signer or '?')}`.",
        ]
        if result.referrers:
            lines.append(f"Attached to {', '.join(f'`{r}`' for r in result.referrers)}.")
    return "\n".join(lines) + "\n"


def write_step_summary(markdown: str, env: Mapping[str, str] | None = None) -> Path | None:
    """Append to ``$GITHUB_STEP_SUMMARY`` (None when not in GitHub Actions or not set)."""
    env = os.environ if env is None else env
    target = env.get("GITHUB_STEP_SUMMARY")
    if not in_github_actions(env) or not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(markdown + "\n")
    return path
