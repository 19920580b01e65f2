"""Reading contracts: the YAML that says what a workflow's attestation must contain.

A contract (:class:`~attestlake.contracts.model.Contract`) is YAML in the shape of Chainloop's workflow contract. Three spellings are read:

- attestlake's own: ``apiVersion: attestlake.dev/v1``, ``kind: Contract``, ``metadata``
  (``name``, optional ``revision``) and ``spec`` (``materials``, ``envAllowList``, ``runner``,
  ``annotations``, ``policies``: attestlake policies, each a library name or a ``.sql`` file
  relative to the contract, with optional ``with`` parameters);
- Chainloop's ``apiVersion: chainloop.dev/v1`` / ``kind: Contract`` with the same ``spec``,
  whose ``policies`` and ``policyGroups`` are Rego, named and warned about, never evaluated;
- Chainloop's legacy ``schemaVersion: v1`` with the spec keys at the top level.

Every contract has a revision (``metadata.revision``, default 1) and a digest (sha256 of the
exact file bytes); both are recorded in each attestation made against it. Errors name the
field and the line (:class:`~attestlake.errors.ContractError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from attestlake._internal._files import read_input
from attestlake._internal.untrusted_yaml import compose_bounded
from attestlake.contracts.model import Annotation, Contract, MaterialRequirement, PolicyReference
from attestlake.errors import ContractError
from attestlake.evidence.materials import MATERIAL_KINDS
from attestlake.evidence.runners import RUNNER_TYPES
from attestlake.store.oci import sha256_digest

API_VERSION = "attestlake.dev/v1"
CHAINLOOP_API_VERSION = "chainloop.dev/v1"
MAX_CONTRACT_SIZE = 1024 * 1024
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
    """Parse and lint contract bytes; raise ContractError naming the field and line.

    A contract is plain data: the same bytes parse to the same (shared, frozen) Contract, so
    the collector's steps, which each read the run's contract again, parse it once."""
    return _parse(bytes(raw), source)


@lru_cache(maxsize=64)
def _parse(raw: bytes, source: str) -> Contract:
    doc = _document(raw, source)
    if "schemaVersion" in doc.data and "apiVersion" not in doc.data:
        header = _legacy_header(doc, source)
    else:
        header = _header(doc)
    spec, spec_path = header.spec, header.spec_path
    own = header.api_version == API_VERSION
    return Contract(
        name=header.name,
        revision=header.revision,
        digest=sha256_digest(raw),
        api_version=str(header.api_version),
        materials=_materials(doc, spec, spec_path),
        env_allow_list=_env_allow_list(doc, spec, spec_path),
        runner_types=_runner_types(doc, spec, spec_path),
        annotations=_annotations(doc, spec.get("annotations"), (*spec_path, "annotations")),
        raw=raw,
        revision_declared=header.declared,
        rego_policies=_rego_policies(spec if not own else _without(spec, "policies")),
        policies=_policies(doc, spec.get("policies"), (*spec_path, "policies")) if own else (),
    )


def _without(spec: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k != field}


#: A library policy's name (the file name of ``policies/NAME.sql``).
_POLICY_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: A published policy: ``STORE#NAME`` or ``STORE#NAME@REVISION``.
_PUBLISHED_POLICY_RE = re.compile(r"^[^#\s]+#[a-z0-9][a-z0-9_-]*(@[1-9][0-9]{0,8})?$")


def _policies(doc: _Doc, value: Any, path: tuple[str | int, ...]) -> tuple[PolicyReference, ...]:
    """``policies`` of an attestlake contract: each a library policy's name or a ``.sql`` path
    relative to the contract, or ``{policy: ..., with: {PARAM: VALUE}}``."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise doc.fail(path, "must be a list of policies (a name, or {policy, with})")
    out: list[PolicyReference] = []
    for i, item in enumerate(value):
        ref = _policy_reference(doc, item, (*path, i))
        if any(p.policy == ref.policy for p in out):
            raise doc.fail((*path, i), f"policy {ref.policy!r} is named twice")
        out.append(ref)
    return tuple(out)


def _policy_reference(doc: _Doc, item: Any, path: tuple[str | int, ...]) -> PolicyReference:
    entry = {"policy": item} if isinstance(item, str) else item
    if not isinstance(entry, dict):
        raise doc.fail(path, "must be a policy name, a .sql path, or {policy, with}")
    unknown = set(entry) - {"policy", "with"}
    if unknown:
        raise doc.fail(
            (*path, sorted(map(str, unknown))[0]), "unknown field (expected policy, with)"
        )
    name = entry.get("policy")
    where = path if isinstance(item, str) else (*path, "policy")
    if not isinstance(name, str) or not name.strip():
        raise doc.fail(
            where, "needs 'policy': a library policy's name, a .sql file or STORE#NAME[@REVISION]"
        )
    if "#" in name:
        if not _PUBLISHED_POLICY_RE.match(name):
            raise doc.fail(
                where,
                f"{name!r} is not a published policy (STORE#NAME or STORE#NAME@REVISION, e.g. "
                "registry.example.com/secops#no_root_images@2)",
            )
    elif name.endswith(".sql"):
        if Path(name).is_absolute():
            raise doc.fail(where, f"{name!r}: a policy file is a path relative to the contract")
    elif not _POLICY_NAME_RE.match(name):
        raise doc.fail(
            where, f"{name!r} is neither a library policy's name nor a path ending in .sql"
        )
    given = entry.get("with")
    if given is None:
        return PolicyReference(name)
    if not isinstance(given, dict):
        raise doc.fail((*path, "with"), "must be a mapping of parameter names to values")
    params = []
    for key, val in given.items():
        if not isinstance(key, str) or not _ENV_RE.match(key):
            raise doc.fail((*path, "with"), f"{key!r} is not a parameter name")
        if isinstance(val, bool):
            val = "true" if val else "false"
        if not isinstance(val, str | int | float):
            raise doc.fail((*path, "with", key), "must be a string, number or true/false")
        params.append((key, str(val)))
    return PolicyReference(name, tuple(sorted(params)))


def _rego_policies(spec: dict[str, Any]) -> tuple[str, ...]:
    """The names of the Chainloop policies and policy groups ``spec`` lists (a reference
    ``ref``, a ``name``, or the entry's position when it has neither)."""
    names: list[str] = []
    for field in ("policies", "policyGroups"):
        entries = spec.get(field)
        if isinstance(entries, dict):  # Chainloop: policies: {materials: [...], attestation: [...]}
            entries = [e for group in entries.values() if isinstance(group, list) for e in group]
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            label = None
            if isinstance(entry, dict):
                for key in ("ref", "name"):
                    if isinstance(entry.get(key), str):
                        label = entry[key]
                        break
                if label is None and isinstance(entry.get("embedded"), dict):
                    label = "embedded policy"
            names.append(str(label or f"{field}[{i}]")[:120])
    return tuple(names)


def _document(raw: bytes, source: str) -> _Doc:
    """The contract's YAML mapping, read within the size limit from UTF-8 bytes."""
    if len(raw) > MAX_CONTRACT_SIZE:
        raise ContractError(f"{source}: contract larger than {MAX_CONTRACT_SIZE} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ContractError(f"{source}: not UTF-8 text") from None
    doc = _Doc(text, source)
    if not isinstance(doc.data, dict):
        raise doc.fail((), "must be a YAML mapping")
    return doc


@dataclass(frozen=True)
class _Header:
    """What a contract says above its spec: its spelling, name and revision, and where the
    spec keys stand (``spec``, or the top level in the legacy spelling)."""

    api_version: Any
    name: str
    revision: int
    declared: bool
    spec: dict[str, Any]
    spec_path: tuple[str, ...]


#: The fields of a contract's spec (at the top level of a legacy ``schemaVersion: v1`` file).
SPEC_FIELDS = ("materials", "envAllowList", "runner", "annotations", "policies", "policyGroups")


def _legacy_header(doc: _Doc, source: str) -> _Header:
    """Chainloop's ``schemaVersion: v1``: the spec keys at the top level, named by the file."""
    data = doc.data
    if data["schemaVersion"] != "v1":
        raise doc.fail(("schemaVersion",), "must be v1")
    api_version, spec, spec_path = "chainloop.dev/v1 (schemaVersion v1)", data, ()
    unknown = set(data) - {"schemaVersion", *SPEC_FIELDS}
    if unknown:
        raise doc.fail((sorted(unknown)[0],), "unknown field")
    name = Path(source).name.split(".")[0] or "contract"
    return _Header(api_version, name, 1, False, spec, spec_path)


def _header(doc: _Doc) -> _Header:
    """``apiVersion``, ``kind: Contract``, ``metadata`` (name, revision) and ``spec``."""
    data = doc.data
    api_version = data.get("apiVersion")
    if api_version not in (API_VERSION, CHAINLOOP_API_VERSION):
        raise doc.fail(("apiVersion",), f"must be {API_VERSION} or {CHAINLOOP_API_VERSION}")
    if data.get("kind") != "Contract":
        raise doc.fail(("kind",), "must be Contract")
    unknown = set(data) - {"apiVersion", "kind", "metadata", "spec"}
    if unknown:
        raise doc.fail((sorted(unknown)[0],), "unknown field")
    name, revision, declared = _metadata(doc, data.get("metadata"))
    spec, spec_path = data.get("spec") or {}, ("spec",)
    if not isinstance(spec, dict):
        raise doc.fail(spec_path, "must be a mapping")
    unknown = set(spec) - set(SPEC_FIELDS)
    if unknown:
        raise doc.fail((*spec_path, sorted(unknown)[0]), "unknown field")
    return _Header(api_version, name, revision, declared, spec, spec_path)


def _metadata(doc: _Doc, metadata: Any) -> tuple[str, int, bool]:
    """The contract's name, its revision (default 1) and whether the file states it."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise doc.fail(("metadata",), "needs a string 'name'")
    name = metadata["name"]
    if not _NAME_RE.match(name):
        raise doc.fail(("metadata", "name"), "lower-case letters, digits and '-' only")
    revision = 1
    declared = False
    if "revision" in metadata:
        revision, declared = metadata["revision"], True
        if not isinstance(revision, int) or isinstance(revision, bool) or revision < 1:
            raise doc.fail(("metadata", "revision"), "must be a whole number from 1")
    return name, revision, declared


def _materials(
    doc: _Doc, spec: dict[str, Any], spec_path: tuple[str, ...]
) -> tuple[MaterialRequirement, ...]:
    """``materials``: each a kind and a unique name, optional and output flags, annotations,
    an "at least one of" ``group`` and ``skipUpload``."""
    materials: list[MaterialRequirement] = []
    raw_materials = spec.get("materials") or []
    if not isinstance(raw_materials, list):
        raise doc.fail((*spec_path, "materials"), "must be a list")
    for i, item in enumerate(raw_materials):
        material = _material(doc, item, (*spec_path, "materials", i))
        if any(m.name == material.name for m in materials):
            raise doc.fail(
                (*spec_path, "materials", i, "name"), f"duplicate material name {material.name!r}"
            )
        materials.append(material)
    return tuple(materials)


#: The fields of one material (Chainloop's ``CraftingSchema.Material``).
MATERIAL_FIELDS = ("type", "name", "optional", "output", "annotations", "group", "skipUpload")


def _material(doc: _Doc, item: Any, path: tuple[str | int, ...]) -> MaterialRequirement:
    if not isinstance(item, dict):
        raise doc.fail(path, "must be a mapping with type and name")
    unknown = set(item) - set(MATERIAL_FIELDS)
    if unknown:
        raise doc.fail(
            (*path, sorted(map(str, unknown))[0]),
            f"unknown field (expected {', '.join(MATERIAL_FIELDS)})",
        )
    kind = item.get("type")
    if kind not in MATERIAL_KINDS:
        raise doc.fail(
            (*path, "type"),
            f"unknown material type {kind!r}; one of: {', '.join(sorted(MATERIAL_KINDS))}",
        )
    mname = item.get("name")
    if not isinstance(mname, str) or not _NAME_RE.match(mname):
        raise doc.fail((*path, "name"), "needs a name: lower-case letters, digits and '-'")
    for flag in ("optional", "output", "skipUpload"):
        if flag in item and not isinstance(item[flag], bool):
            raise doc.fail((*path, flag), "must be true or false")
    group = item.get("group")
    if group not in (None, "") and (not isinstance(group, str) or not _NAME_RE.match(group)):
        raise doc.fail((*path, "group"), "a group name: lower-case letters, digits and '-'")
    return MaterialRequirement(
        mname,
        kind,
        optional=bool(item.get("optional", False)),
        output=bool(item.get("output", False)),
        annotations=_annotations(doc, item.get("annotations"), (*path, "annotations")),
        group=group or None,
        skip_upload=bool(item.get("skipUpload", False)),
    )


def _env_allow_list(doc: _Doc, spec: dict[str, Any], spec_path: tuple[str, ...]) -> tuple[str, ...]:
    """``envAllowList``: the names of the environment variables a run records."""
    env = spec.get("envAllowList") or []
    if not isinstance(env, list) or not all(isinstance(e, str) and _ENV_RE.match(e) for e in env):
        raise doc.fail((*spec_path, "envAllowList"), "must be a list of environment variable names")
    return tuple(env)


def _runner_types(doc: _Doc, spec: dict[str, Any], spec_path: tuple[str, ...]) -> tuple[str, ...]:
    """``runner.type``: the runner type, or list of them, a run may use (none: any)."""
    runner = spec.get("runner")
    if runner is None:
        return ()
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
    return tuple(types)


def load_contract(path: Path | str) -> Contract:
    """Read and lint a contract file."""
    p = Path(path)
    return parse_contract(read_input(p, "contract", ContractError), source=str(p))
