"""Contracts: what a workflow's attestation must contain.

A contract is YAML in the shape of Chainloop's workflow contract. Three spellings are read:

- attestlake's own: ``apiVersion: attestlake.dev/v1``, ``kind: Contract``, ``metadata``
  (``name``, optional ``revision``) and ``spec`` (``materials``, ``envAllowList``, ``runner``,
  ``annotations``);
- Chainloop's ``apiVersion: chainloop.dev/v1`` / ``kind: Contract`` with the same ``spec``;
- Chainloop's legacy ``schemaVersion: v1`` with the spec keys at the top level.

Every contract has a revision (``metadata.revision``, default 1) and a digest (sha256 of the
exact file bytes); both are recorded in each attestation made against it. Errors name the
field and the line (:class:`~attestlake.errors.ContractError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from attestlake._internal._files import read_input
from attestlake._internal.untrusted_yaml import compose_bounded
from attestlake.errors import ContractError
from attestlake.evidence.materials import MATERIAL_KINDS
from attestlake.evidence.runners import RUNNER_TYPES
from attestlake.store.oci import sha256_digest

API_VERSION = "attestlake.dev/v1"
CHAINLOOP_API_VERSION = "chainloop.dev/v1"
MAX_CONTRACT_SIZE = 1024 * 1024
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Annotation:
    """A name, with a fixed value or ``None`` when the value must be given at attestation."""

    name: str
    value: str | None = None


@dataclass(frozen=True)
class MaterialRequirement:
    name: str
    kind: str
    optional: bool = False
    output: bool = False
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class Contract:
    name: str
    revision: int
    digest: str
    api_version: str
    materials: tuple[MaterialRequirement, ...]
    env_allow_list: tuple[str, ...]
    runner_types: tuple[str, ...]
    annotations: tuple[Annotation, ...]
    raw: bytes
    #: True when the file states ``metadata.revision`` (else the revision is the default, 1,
    #: or the one a store assigned when the contract was published).
    revision_declared: bool = False

    def material(self, name: str) -> MaterialRequirement | None:
        return next((m for m in self.materials if m.name == name), None)

    def required_materials(self) -> tuple[MaterialRequirement, ...]:
        return tuple(m for m in self.materials if not m.optional)

    def summary(self) -> dict[str, Any]:
        """What an attestation records about the contract it was checked against."""
        return {
            "name": self.name,
            "revision": self.revision,
            "digest": self.digest,
            "materials": [
                {"name": m.name, "type": m.kind, "optional": m.optional, "output": m.output}
                for m in self.materials
            ],
            "annotations": [a.name for a in self.annotations],
            "runnerTypes": list(self.runner_types),
        }


class _Doc:
    """A parsed YAML document that can say on which line a field stands."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        try:
            self.node, self.data = compose_bounded(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{mark.line + 1}:" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ContractError(f"{source}:{where} not valid YAML: {problem}") from None

    def line(self, path: tuple[str | int, ...]) -> int:
        node: Any = self.node
        line = node.start_mark.line + 1 if node is not None else 1
        for key in path:
            if isinstance(node, yaml.MappingNode) and isinstance(key, str):
                found = next(((k, v) for k, v in node.value if k.value == key), None)
                if found is None:
                    break
                line, node = found[0].start_mark.line + 1, found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if key >= len(node.value):
                    break
                node = node.value[key]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def fail(self, path: tuple[str | int, ...], message: str) -> ContractError:
        field = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path).replace(".[", "[")
        return ContractError(f"{self.source}:{self.line(path)}: {field or 'contract'}: {message}")


def _annotations(doc: _Doc, value: Any, path: tuple[str | int, ...]) -> tuple[Annotation, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise doc.fail(path, "must be a list of {name, value} entries")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise doc.fail((*path, i), "each annotation needs a string 'name'")
        unknown = set(item) - {"name", "value"}
        if unknown:
            raise doc.fail((*path, i, sorted(unknown)[0]), "unknown field (expected name, value)")
        val = item.get("value")
        if val is not None and not isinstance(val, str | int | float | bool):
            raise doc.fail((*path, i, "value"), "must be a string")
        out.append(Annotation(item["name"], None if val in (None, "") else str(val)))
    return tuple(out)


def parse_contract(raw: bytes, *, source: str = "<contract>") -> Contract:
    """Parse and lint contract bytes; raise ContractError naming the field and line."""
    if len(raw) > MAX_CONTRACT_SIZE:
        raise ContractError(f"{source}: contract larger than {MAX_CONTRACT_SIZE} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ContractError(f"{source}: not UTF-8 text") from None
    doc = _Doc(text, source)
    data = doc.data
    if not isinstance(data, dict):
        raise doc.fail((), "must be a YAML mapping")
    name = Path(source).name.split(".")[0] or "contract"
    revision = 1
    declared = False
    api_version: Any
    spec_path: tuple[str, ...]
    if "schemaVersion" in data and "apiVersion" not in data:
        if data["schemaVersion"] != "v1":
            raise doc.fail(("schemaVersion",), "must be v1")
        api_version, spec, spec_path = "chainloop.dev/v1 (schemaVersion v1)", data, ()
        allowed_top = {
            "schemaVersion",
            "materials",
            "envAllowList",
            "runner",
            "annotations",
            "policies",
            "policyGroups",
        }
        unknown = set(data) - allowed_top
        if unknown:
            raise doc.fail((sorted(unknown)[0],), "unknown field")
    else:
        api_version = data.get("apiVersion")
        if api_version not in (API_VERSION, CHAINLOOP_API_VERSION):
            raise doc.fail(("apiVersion",), f"must be {API_VERSION} or {CHAINLOOP_API_VERSION}")
        if data.get("kind") != "Contract":
            raise doc.fail(("kind",), "must be Contract")
        unknown = set(data) - {"apiVersion", "kind", "metadata", "spec"}
        if unknown:
            raise doc.fail((sorted(unknown)[0],), "unknown field")
        metadata = data.get("metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
            raise doc.fail(("metadata",), "needs a string 'name'")
        name = metadata["name"]
        if not _NAME_RE.match(name):
            raise doc.fail(("metadata", "name"), "lower-case letters, digits and '-' only")
        if "revision" in metadata:
            revision, declared = metadata["revision"], True
            if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1:
                raise doc.fail(("metadata", "revision"), "must be a whole number from 1")
        spec, spec_path = data.get("spec") or {}, ("spec",)
        if not isinstance(spec, dict):
            raise doc.fail(spec_path, "must be a mapping")
        unknown = set(spec) - {
            "materials",
            "envAllowList",
            "runner",
            "annotations",
            "policies",
            "policyGroups",
        }
        if unknown:
            raise doc.fail((*spec_path, sorted(unknown)[0]), "unknown field")

    materials: list[MaterialRequirement] = []
    raw_materials = spec.get("materials") or []
    if not isinstance(raw_materials, list):
        raise doc.fail((*spec_path, "materials"), "must be a list")
    for i, item in enumerate(raw_materials):
        path = (*spec_path, "materials", i)
        if not isinstance(item, dict):
            raise doc.fail(path, "must be a mapping with type and name")
        unknown = set(item) - {"type", "name", "optional", "output", "annotations"}
        if unknown:
            raise doc.fail((*path, sorted(unknown)[0]), "unknown field")
        kind = item.get("type")
        if kind not in MATERIAL_KINDS:
            raise doc.fail(
                (*path, "type"),
                f"unknown material type {kind!r}; one of: {', '.join(sorted(MATERIAL_KINDS))}",
            )
        mname = item.get("name")
        if not isinstance(mname, str) or not _NAME_RE.match(mname):
            raise doc.fail((*path, "name"), "needs a name: lower-case letters, digits and '-'")
        if any(m.name == mname for m in materials):
            raise doc.fail((*path, "name"), f"duplicate material name {mname!r}")
        for flag in ("optional", "output"):
            if flag in item and not isinstance(item[flag], bool):
                raise doc.fail((*path, flag), "must be true or false")
        materials.append(
            MaterialRequirement(
                mname,
                kind,
                optional=bool(item.get("optional", False)),
                output=bool(item.get("output", False)),
                annotations=_annotations(doc, item.get("annotations"), (*path, "annotations")),
            )
        )

    env = spec.get("envAllowList") or []
    if not isinstance(env, list) or not all(isinstance(e, str) and _ENV_RE.match(e) for e in env):
        raise doc.fail((*spec_path, "envAllowList"), "must be a list of environment variable names")

    runner_types: tuple[str, ...] = ()
    runner = spec.get("runner")
    if runner is not None:
        if not isinstance(runner, dict) or "type" not in runner:
            raise doc.fail((*spec_path, "runner"), "must be a mapping with 'type'")
        rtype = runner["type"]
        types = rtype if isinstance(rtype, list) else [rtype]
        for t in types:
            if t not in RUNNER_TYPES:
                raise doc.fail(
                    (*spec_path, "runner", "type"),
                    f"unknown runner type {t!r}; one of: {', '.join(RUNNER_TYPES)}",
                )
        runner_types = tuple(types)

    return Contract(
        name=name,
        revision=revision,
        digest=sha256_digest(raw),
        api_version=str(api_version),
        materials=tuple(materials),
        env_allow_list=tuple(env),
        runner_types=runner_types,
        annotations=_annotations(doc, spec.get("annotations"), (*spec_path, "annotations")),
        raw=raw,
        revision_declared=declared,
    )


def load_contract(path: Path | str) -> Contract:
    """Read and lint a contract file."""
    p = Path(path)
    return parse_contract(read_input(p, "contract", ContractError), source=str(p))


def contract_changes(old: Contract, new: Contract) -> list[str]:
    """What ``new`` asks for that ``old`` did not (and what it drops), one phrase each."""
    out: list[str] = []
    before = {m.name: m for m in old.materials}
    after = {m.name: m for m in new.materials}
    for name, m in after.items():
        was = before.get(name)
        what = "optional material" if m.optional else "material"
        if was is None:
            out.append(
                f"requires {what} {name} ({m.kind})"
                if not m.optional
                else f"adds {what} {name} ({m.kind})"
            )
        elif was.kind != m.kind:
            out.append(f"material {name} is now {m.kind} (was {was.kind})")
        elif was.optional and not m.optional:
            out.append(f"makes material {name} required")
        new_ann = {a.name for a in m.annotations} - {
            a.name for a in (was.annotations if was else ())
        }
        out += [f"requires annotation {name}.{a}" for a in sorted(new_ann) if was is not None]
    out += [f"no longer lists material {name}" for name in before if name not in after]
    old_ann = {a.name for a in old.annotations}
    out += [f"requires annotation {a.name}" for a in new.annotations if a.name not in old_ann]
    if new.runner_types != old.runner_types:
        out.append(
            f"allows runners {', '.join(new.runner_types)}"
            if new.runner_types
            else "allows any runner"
        )
    out += [f"records variable {e}" for e in new.env_allow_list if e not in old.env_allow_list]
    return out
