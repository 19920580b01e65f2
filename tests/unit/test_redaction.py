"""redact: what looks like a credential but is not one stays as it is."""

from __future__ import annotations

import pytest

from attestlake.evidence.runner_context import RunnerContext
from attestlake.redaction import (
    REDACTED,
    has_userinfo,
    redact,
    redact_optional,
    redact_values,
    without_userinfo,
)

LOOK_ALIKES = [
    "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",  # a commit SHA (40 hex, like an AWS secret)
    "sha256:" + "ab" * 32,
    "registry.example.com/cyberdyne/skynet@sha256:" + "3" * 64,
    "registry.example.com:5000/skynet:1.0@sha256:" + "4" * 64,  # tag and digest
    "git@github.com:org/repo.git",  # an SSH clone URL: a user name, no password
    "ssh://git@github.com/org/repo.git",
    "https://github.com/org/repo",
    "https://github.com/org/repo/actions/runs/123",
    "https://dev.azure.com/org/project/_build/results?buildId=77",
    "https://tekton.example.com/#/namespaces/ci/pipelineruns/build-run-abc",
    "vstfs:///Build/Build/77",
    "http://127.0.0.1:5000/attestations",
    "oci:store",
    "refs/heads/main",
    "org/repo/.github/workflows/build.yml@refs/heads/main",
    "pkg:deb/debian/openssl@3.0.13",
    "alice@example.com",
    "ghp_short",  # too short to be a token
    "the ghp_ prefix alone",
    "AKIA is an AWS prefix",
    "eyJhbGciOiJIUzI1NiJ9 is a JWT header, not a token",
    "https://example.com/search?q=token&page=2",
    "prod",
    "",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_kept(text: str) -> None:
    assert redact(text) == text


def test_only_userinfo_is_stripped_from_a_url() -> None:
    url = "https://ci:ghp_0123456789abcdefghijABCDEFGHIJ@git.example.com:8443/org/repo.git?x=1#f"
    assert redact(url) == "https://git.example.com:8443/org/repo.git?x=1#f"


def test_a_user_name_without_a_password_is_stripped_from_an_http_url() -> None:
    assert (
        redact("https://org@dev.azure.com/org/_git/repo") == "https://dev.azure.com/org/_git/repo"
    )


def test_redaction_is_stable() -> None:
    text = "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    once = redact(text)
    assert once == f"{REDACTED} {REDACTED}" and redact(once) == once


def test_helpers() -> None:
    assert redact_optional(None) is None
    assert redact_values({"A": "https://u:p@h.example/x", "B": "b"}) == {
        "A": "https://h.example/x",
        "B": "b",
    }
    assert has_userinfo("https://u:p@h.example/x") and has_userinfo("u:p@h.example/x")
    assert not has_userinfo("h.example/x") and not has_userinfo("h.example/x@sha256:" + "1" * 64)
    assert without_userinfo('https://u:p"w@h.example/x') == "https://h.example/x"
    assert without_userinfo("u:p@w@h.example:5000/x") == "h.example:5000/x"


def test_a_runner_context_read_back_from_a_state_file_holds_no_credential() -> None:
    ctx = RunnerContext(
        "JENKINS_JOB",
        repository="https://bot:s3cret@git.example.com/org/repo.git",
        environment={"GIT_URL": "https://bot:s3cret@git.example.com/org/repo.git"},
    )
    assert ctx.repository == "https://git.example.com/org/repo.git"
    assert "s3cret" not in str(ctx.to_json())
