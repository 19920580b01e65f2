"""A runner context: what a run records about the CI system that ran it.

:class:`RunnerContext` is the runner's type, the run's URL, repository, commit, ref, actor and
triggering event, and the environment variables recorded (the runner's own and the contract's
``envAllowList``). Whatever builds one (the environment through
:func:`attestlake.evidence.runners.discover`, or a state file) it holds no credential: every
value passes through :func:`attestlake.redaction.redact`, so a URL loses its userinfo
(``https://user:TOKEN@host/repo`` is recorded as ``https://host/repo``) and a credential of a
known shape in any value becomes ``[REDACTED]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from attestlake.redaction import redact_optional, redact_values


@dataclass(frozen=True)
class RunnerContext:
    type: str
    url: str | None = None
    repository: str | None = None
    commit: str | None = None
    ref: str | None = None
    actor: str | None = None
    event: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Whatever built it (the environment, a state file), a context holds no credential.
        for f in fields(self):
            if f.name not in ("type", "environment"):
                object.__setattr__(self, f.name, redact_optional(getattr(self, f.name)))
        object.__setattr__(self, "environment", redact_values(self.environment))

    def to_json(self) -> dict[str, object]:
        return {
            "type": self.type,
            "url": self.url,
            "repository": self.repository,
            "commit": self.commit,
            "ref": self.ref,
            "actor": self.actor,
            "event": self.event,
            "environment": dict(sorted(self.environment.items())),
        }
