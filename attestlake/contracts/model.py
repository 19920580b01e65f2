"""The contract model: what a workflow's attestation must contain.

A :class:`Contract` names the materials a run must add (:class:`MaterialRequirement`, each of a
material kind, optional or required, an output or not, with annotations of its own; materials
that share a ``group`` form an "at least one of" set, :meth:`Contract.groups`), the
environment variables it records, the runner types it may run on and the annotations the run
must carry; its ``revision`` and ``digest`` are recorded in every attestation made against it
(:meth:`Contract.summary`). An attestlake contract may also name attestlake policies
(:class:`PolicyReference`), evaluated on the run's materials when it is pushed. :func:`contract_changes` says, one phrase each, what a new revision
asks for that an old one did not. Reading a contract from its YAML is
:mod:`attestlake.contracts.contracts`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Annotation:
    """A name, with a fixed value or ``None`` when the value must be given at attestation."""

    name: str
    value: str | None = None


@dataclass(frozen=True)
class PolicyReference:
    """A policy a contract names: a library policy's name, a ``.sql`` file relative to the
    contract (:attr:`is_file`), or a policy published to a store, ``STORE#NAME[@REVISION]``
    (:attr:`is_published`), with the parameter values it runs with (``with``)."""

    policy: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def is_published(self) -> bool:
        return "#" in self.policy

    @property
    def is_file(self) -> bool:
        return self.policy.endswith(".sql") and not self.is_published


@dataclass(frozen=True)
class MaterialRequirement:
    name: str
    kind: str
    optional: bool = False
    output: bool = False
    annotations: tuple[Annotation, ...] = ()
    #: The "at least one of" group the material belongs to: a run needs at least one
    #: material of each group, whatever each one's ``optional`` says.
    group: str | None = None
    #: The file's digest is recorded, its bytes are not pushed (Chainloop's ``skipUpload``).
    skip_upload: bool = False


@dataclass(frozen=True)
class MaterialGroup:
    """Materials of which a run must add at least one."""

    name: str
    members: tuple[MaterialRequirement, ...]

    def met_by(self, present: Iterable[str]) -> tuple[str, ...]:
        """The members among the material names ``present``."""
        names = set(present)
        return tuple(m.name for m in self.members if m.name in names)

    def describe(self) -> str:
        return " or ".join(f"{m.name} ({m.kind})" for m in self.members)


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
    #: The Rego policies a Chainloop contract names (``policies``, ``policyGroups``), which
    #: attestlake does not evaluate (:meth:`ignored_policies_warning`).
    rego_policies: tuple[str, ...] = ()
    #: The attestlake policies (SQL) an attestlake contract names, evaluated at push.
    policies: tuple[PolicyReference, ...] = ()

    def to_state(self) -> dict[str, Any]:
        """The parsed contract as a run's state file keeps it beside the contract's bytes, so
        that a step reads it back without parsing YAML (:meth:`from_state`)."""
        return {
            "name": self.name,
            "revision": self.revision,
            "digest": self.digest,
            "apiVersion": self.api_version,
            "materials": [
                {
                    "name": m.name,
                    "kind": m.kind,
                    "optional": m.optional,
                    "output": m.output,
                    "annotations": [[a.name, a.value] for a in m.annotations],
                    "group": m.group,
                    "skipUpload": m.skip_upload,
                }
                for m in self.materials
            ],
            "envAllowList": list(self.env_allow_list),
            "runnerTypes": list(self.runner_types),
            "annotations": [[a.name, a.value] for a in self.annotations],
            "revisionDeclared": self.revision_declared,
            "regoPolicies": list(self.rego_policies),
            "policies": [[p.policy, [list(kv) for kv in p.params]] for p in self.policies],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], raw: bytes) -> Contract:
        """The contract :meth:`to_state` wrote, with its bytes ``raw``; a value of the wrong
        type raises ``TypeError`` or ``ValueError``, a missing one ``KeyError``."""
        return cls(
            name=_text(state["name"]),
            revision=_number(state["revision"]),
            digest=_text(state["digest"]),
            api_version=_text(state["apiVersion"]),
            materials=tuple(
                MaterialRequirement(
                    name=_text(m["name"]),
                    kind=_text(m["kind"]),
                    optional=_flag(m["optional"]),
                    output=_flag(m["output"]),
                    annotations=_annotations(m["annotations"]),
                    group=None if m["group"] is None else _text(m["group"]),
                    skip_upload=_flag(m["skipUpload"]),
                )
                for m in _list(state["materials"])
            ),
            env_allow_list=tuple(_text(e) for e in _list(state["envAllowList"])),
            runner_types=tuple(_text(r) for r in _list(state["runnerTypes"])),
            annotations=_annotations(state["annotations"]),
            raw=raw,
            revision_declared=_flag(state["revisionDeclared"]),
            rego_policies=tuple(_text(r) for r in _list(state["regoPolicies"])),
            policies=tuple(
                PolicyReference(
                    _text(policy), tuple((_text(k), _text(v)) for k, v in _list(params))
                )
                for policy, params in _list(state["policies"])
            ),
        )

    def ignored_policies_warning(self) -> str | None:
        """What ``contract lint`` and ``attest init`` say when the contract names Chainloop
        (Rego) policies: they are not evaluated, and nothing passes or fails by them."""
        if not self.rego_policies:
            return None
        return (
            f"contract {self.name} names Chainloop policies ({', '.join(self.rego_policies)}): "
            "attestlake does not evaluate Rego policies, so nothing is checked by them; write "
            "them as attestlake policies (SQL, docs/policies.md)"
        )

    def material(self, name: str) -> MaterialRequirement | None:
        return next((m for m in self.materials if m.name == name), None)

    def required_materials(self) -> tuple[MaterialRequirement, ...]:
        """The materials a run must add each of (a group's members are required as a group)."""
        return tuple(m for m in self.materials if not m.optional and m.group is None)

    def optional_materials(self) -> tuple[MaterialRequirement, ...]:
        return tuple(m for m in self.materials if m.optional and m.group is None)

    def groups(self) -> tuple[MaterialGroup, ...]:
        """The "at least one of" groups, in the order the contract first names them."""
        order = list(dict.fromkeys(m.group for m in self.materials if m.group is not None))
        return tuple(
            MaterialGroup(g, tuple(m for m in self.materials if m.group == g)) for g in order
        )

    def summary(self) -> dict[str, Any]:
        """What an attestation records about the contract it was checked against."""
        return {
            "name": self.name,
            "revision": self.revision,
            "digest": self.digest,
            "materials": [
                {
                    "name": m.name,
                    "type": m.kind,
                    "optional": m.optional,
                    "output": m.output,
                    **({"group": m.group} if m.group is not None else {}),
                    **({"skipUpload": True} if m.skip_upload else {}),
                }
                for m in self.materials
            ],
            "annotations": [a.name for a in self.annotations],
            "runnerTypes": list(self.runner_types),
        }


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, found {type(value).__name__}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, found {type(value).__name__}")
    return value


def _number(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected a whole number, found {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, found {type(value).__name__}")
    return value


def _annotations(value: Any) -> tuple[Annotation, ...]:
    return tuple(
        Annotation(_text(name), None if v is None else _text(v)) for name, v in _list(value)
    )


def contract_changes(old: Contract, new: Contract) -> list[str]:
    """What ``new`` asks for that ``old`` did not (and what it drops), one phrase each."""
    out: list[str] = []
    before = {m.name: m for m in old.materials}
    after = {m.name: m for m in new.materials}
    for name, m in after.items():
        was = before.get(name)
        what = "optional material" if m.optional else "material"
        if was is None and m.group is not None:
            out.append(f"adds material {name} ({m.kind}) to group {m.group}")
        elif was is None:
            out.append(
                f"requires {what} {name} ({m.kind})"
                if not m.optional
                else f"adds {what} {name} ({m.kind})"
            )
        elif was.kind != m.kind:
            out.append(f"material {name} is now {m.kind} (was {was.kind})")
        elif was.optional and not m.optional:
            out.append(f"makes material {name} required")
        if was is not None and was.group != m.group:
            out.append(
                f"puts material {name} in group {m.group}"
                if m.group
                else f"takes material {name} out of group {was.group}"
            )
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
