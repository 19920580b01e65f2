"""Policies at push under attack and at the edges: a gated push to a real registry leaves it
untouched; a policy file that is not SQL, or that would write or read files, is refused with a
clear error and nothing pushed (the lake's read-only guard holds in the collector too); a
policy with thousands of violations is recorded bounded; a policy-less push never loads
DuckDB."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from attestlake.collect.policy_outcome import MAX_RECORDED_VIOLATIONS, MAX_VIOLATION_LENGTH
from attestlake.errors import NotFound
from attestlake.store.registry import RegistryStore
from tests.integration.cli_helpers import GITHUB_ENV, run_cli
from tests.integration.registry_server import RegistryServer
from tests.integration.test_policies_at_push import (
    COVERING,
    DEBIAN,
    GPL,
    IMAGE,
    STATE,
    attest,
    begin,
    contract,
    nothing_written,
    recorded,
)

HEADER = """-- title: A policy of one's own
-- description: What this policy checks.
-- severity: medium
-- gate: {gate}
"""


def own_policy(tmp: Path, body: str, *, gate: bool = False) -> str:
    """Write ``checks/own.sql`` (the header, then ``body``); the contract entry naming it."""
    (tmp / "checks").mkdir(exist_ok=True)
    text = HEADER.format(gate="true" if gate else "false") + textwrap.dedent(body)
    (tmp / "checks" / "own.sql").write_text(text)
    return "    - checks/own.sql\n"


def _blobs(registry: RegistryServer) -> list[Path]:
    root = registry.workdir / "data"
    return [p for p in root.rglob("data") if p.is_file()] if root.exists() else []


@pytest.mark.registry
def test_a_gated_push_to_a_registry_leaves_it_untouched(
    tmp_path: Path, own_registry: RegistryServer
) -> None:
    target = f"{own_registry.host}/cyberdyne/attestations"
    env = {**GITHUB_ENV, "GITHUB_ACTIONS": "false"}
    assert begin(tmp_path, "    - denied_licences\n", env).code == 0
    image = "registry.example.com/cyberdyne/app@sha256:" + "f" * 64
    assert (
        run_cli(tmp_path, "attest", "add", "--name", "image", "--value", image, env=env).code == 0
    )
    (tmp_path / "sbom.json").write_bytes(Path("tests/assets", GPL).read_bytes())
    assert run_cli(tmp_path, "attest", "add", "--value", "sbom.json", env=env).code == 0
    refused = run_cli(tmp_path, "attest", "push", "--key", "ci.key", "--to", target, env=env)
    assert refused.code == 3, refused.err
    assert "gating policy denied_licences violated" in refused.err
    store = RegistryStore(own_registry.url, "cyberdyne/attestations")
    try:
        with pytest.raises(NotFound):
            store.resolve("run-" + json.loads((tmp_path / STATE).read_text())["runId"])
    finally:
        store.close()
    assert _blobs(own_registry) == []  # no envelope, no evidence, not even the empty config
    assert json.loads((tmp_path / STATE).read_text())["pushed"] is None


def test_a_policy_file_that_is_not_sql_is_refused_at_init(tmp_path: Path) -> None:
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "own.sql").write_text(HEADER.format(gate="true") + "this is not SQL\n")
    init = begin(tmp_path, "    - checks/own.sql\n")
    assert init.code == 1 and "Traceback" not in init.err
    assert init.err.startswith("error: contract app-build: policy checks/own.sql: ")
    assert "syntax error" in init.err
    assert not (tmp_path / STATE).exists()
    lint = run_cli(tmp_path, "contract", "lint", "contract.yaml")
    assert lint.code == 1 and "policy checks/own.sql" in lint.err


def test_a_missing_policy_and_a_bad_parameter_are_refused_at_init(tmp_path: Path) -> None:
    missing = begin(tmp_path, "    - checks/absent.sql\n")
    assert missing.code == 1
    assert "checks/absent.sql: no such policy file" in missing.err
    unknown = begin(tmp_path, "    - no_such_policy\n")
    assert "no such policy in attestlake's library (components_have_purls," in unknown.err
    typo = begin(tmp_path, "    - policy: denied_licences\n      with:\n        denny: MIT\n")
    assert typo.code == 1
    assert "policy denied_licences: query denied_licences has no parameter denny" in typo.err
    needed = begin(tmp_path, "    - images_from_allowed_registries\n")
    assert "needs parameter allowed" in needed.err
    assert not (tmp_path / STATE).exists()


BAD_POLICIES = pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (
            "COPY (SELECT 'x' AS run_id) TO 'pwned.csv'\n",
            "a policy is one SELECT statement (it may start with WITH), never a write or a "
            "definition; this is a COPY statement, and nothing ran",
        ),
        (
            "SELECT NULL AS run_id, NULL AS project, NULL AS workflow, content AS violation\n"
            "FROM read_text('/etc/passwd')\n",
            "file system operations are disabled by configuration",
        ),
        (
            "SELECT run_id, project, workflow FROM runs\n",
            "its answer lacks column(s) violation",
        ),
        (
            "SELECT run_id, project, workflow, 'x' AS violation FROM no_such_table\n",
            "no_such_table",
        ),
    ],
    ids=["writes", "reads-files", "not-a-policy-answer", "unknown-table"],
)
#: A policy that runs and finds nothing: what init accepts before the file is changed.
HARMLESS = "SELECT run_id, project, workflow, 'x' AS violation FROM runs WHERE false\n"


@BAD_POLICIES
def test_a_policy_that_cannot_run_is_refused_at_init_and_lint(
    tmp_path: Path, body: str, refusal: str
) -> None:
    """Each named policy runs once on an empty lake at init and lint: one that does not run
    there, or answers without a policy's columns, fails before the run begins."""
    init = begin(tmp_path, own_policy(tmp_path, body))
    assert init.code == 1, (init.out, init.err)
    assert init.err.startswith("error: contract app-build: policy checks/own.sql: ")
    assert refusal in init.err and "Traceback" not in init.err
    assert "root:" not in init.err
    assert not (tmp_path / STATE).exists() and not (tmp_path / "pwned.csv").exists()
    lint = run_cli(tmp_path, "contract", "lint", "contract.yaml")
    assert lint.code == 1 and refusal in lint.err
    assert "OK" not in lint.out  # not said to be fine before the error
    assert not (tmp_path / "pwned.csv").exists()


def test_lint_and_init_accept_a_policy_that_runs() -> None:
    """The library's policies all run on an empty lake with their defaults (the contract
    names them so, or with parameters)."""
    from attestlake.audit.push_policies import check_policies
    from attestlake.contracts.contracts import parse_contract

    doc = contract(
        "    - sbom_covers_image\n    - denied_licences\n    - components_have_purls\n"
        "    - provenance_builder_allowed\n    - policy: images_from_allowed_registries\n"
        "      with:\n        allowed: ghcr.io\n"
    )
    bound = check_policies(parse_contract(doc.encode(), source="contract.yaml"), None)
    assert [b.query.name for b in bound] == [
        "sbom_covers_image",
        "denied_licences",
        "components_have_purls",
        "provenance_builder_allowed",
        "images_from_allowed_registries",
    ]


@BAD_POLICIES
def test_a_policy_changed_after_init_to_one_that_cannot_run_pushes_nothing(
    tmp_path: Path, body: str, refusal: str
) -> None:
    """The push reads the policy file again: one changed since init is caught there too."""
    assert begin(tmp_path, own_policy(tmp_path, HARMLESS)).code == 0
    own_policy(tmp_path, body)
    assert run_cli(tmp_path, "attest", "add", "--name", "image", "--value", IMAGE).code == 0
    pushed = run_cli(
        tmp_path, "attest", "push", "--key", "ci.key", "--to", "oci:store",
        "--bundle-out", "run.json",
    )  # fmt: skip
    assert pushed.code == 1, (pushed.out, pushed.err)
    assert refusal in pushed.err and "Traceback" not in pushed.err
    assert "root:" not in pushed.err  # nothing of the file read
    assert not (tmp_path / "pwned.csv").exists()
    nothing_written(tmp_path)


def test_thousands_of_violations_are_recorded_bounded(tmp_path: Path) -> None:
    body = """\
    SELECT r.run_id, r.project, r.workflow,
        'violation ' || i || ' ' || repeat('x', 5000) AS violation
    FROM runs AS r, range(5000) AS t(i)
    ORDER BY i
    """
    pushed = attest(tmp_path, own_policy(tmp_path, body), DEBIAN)
    assert pushed.code == 0, pushed.err
    (evaluation,) = recorded(tmp_path)
    assert evaluation["violationCount"] == 5000
    assert len(evaluation["violations"]) == MAX_RECORDED_VIOLATIONS
    assert all(len(v) == MAX_VIOLATION_LENGTH for v in evaluation["violations"])
    assert evaluation["violations"][0].startswith("violation 0 xxx")
    assert evaluation["violations"][0].endswith("…")
    assert "policy own: and 4900 more violation(s)" in pushed.err
    assert (tmp_path / "run.json").stat().st_size < 2_000_000


def test_a_published_contract_cannot_name_a_policy_file(tmp_path: Path) -> None:
    body = "SELECT run_id, project, workflow, 'v' AS violation FROM runs\n"
    assert begin(tmp_path, own_policy(tmp_path, body)).code == 0  # from the file: fine
    published = run_cli(
        tmp_path, "contract", "push", "contract.yaml", "--to", "oci:secops", "--unsigned"
    )
    assert published.code == 0, published.err
    init = run_cli(
        tmp_path, "attest", "init", "--contract", "oci:secops#app-build", "--workflow", "build",
        "--project", "app", env=GITHUB_ENV,
    )  # fmt: skip
    assert init.code == 1
    assert "names policy file(s) checks/own.sql: a contract pulled from a store can name" in (
        init.err
    )


def test_a_push_without_policies_never_loads_duckdb(tmp_path: Path) -> None:
    contract = Path("tests/assets/contracts/image-sbom-optional-rootfs.yaml").resolve()
    (tmp_path / "sbom.json").write_bytes(Path("tests/assets", COVERING).resolve().read_bytes())
    assert run_cli(tmp_path, "keys", "generate", "--out", "ci").code == 0
    script = textwrap.dedent(
        f"""
        import sys
        from attestlake._cli.dispatch import run
        steps = [
            ["attest", "init", "--contract", {str(contract)!r}, "--workflow", "b",
             "--project", "p"],
            ["attest", "add", "--name", "image", "--value",
             "registry.example.com/app@sha256:" + "e" * 64],
            ["attest", "add", "--name", "sbom", "--value", "sbom.json"],
            ["attest", "push", "--key", "ci.key", "--to", "oci:store"],
        ]
        codes = [run(step) for step in steps]
        print(codes, sorted(m for m in ("duckdb", "pyarrow") if m in sys.modules))
        """
    )
    (tmp_path / "steps.py").write_text(script)
    proc = subprocess.run(
        [sys.executable, "steps.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**GITHUB_ENV, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[0, 0, 0, 0] []"
