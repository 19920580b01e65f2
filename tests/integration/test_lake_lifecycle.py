"""The run lifecycle, published contracts and inventories in the lake, through the real CLI and a
real registry: started, pushed, reset and unfinished runs; contracts and the inventory that
SecOps published, crawled from the store with the runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import GITHUB_ENV, image, run_cli, setup_workspace
from tests.integration.registry_server import RegistryServer

pytestmark = pytest.mark.registry


def _revision(n: int, *, scan: bool = False) -> str:
    """Revision ``n`` of skynet-build: image (output) and SBOM; with ``scan``, a SARIF too."""
    materials = [
        "    - {type: CONTAINER_IMAGE, name: image, output: true}",
        "    - {type: SBOM_CYCLONEDX_JSON, name: sbom}",
        *(["    - {type: SARIF, name: scan}"] if scan else []),
    ]
    return (
        "apiVersion: attestlake.dev/v1\nkind: Contract\nmetadata:\n  name: skynet-build\n"
        f"  revision: {n}\nspec:\n  materials:\n" + "\n".join(materials) + "\n"
    )


def _inventory(cadence: str) -> str:
    return (
        "apiVersion: attestlake.dev/v1\nkind: Inventory\nmetadata:\n  name: cyberdyne\n"
        "workflows:\n"
        "  - {workflow: build, project: skynet, team: ai, owner: sarah@cyberdyne.example,\n"
        f"     contract: skynet-build, cadence: {cadence}}}\n"
        "  - {workflow: release, project: skynet, team: ai, owner: miles@cyberdyne.example,\n"
        "     contract: skynet-build, cadence: on-demand}\n"
    )


def _ok(tmp: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = run_cli(tmp, *args, env=env)
    assert result.code == 0, f"{args}: {result.out}\n{result.err}"
    return result.out


def _sql(tmp: Path, query: str) -> list[dict[str, Any]]:
    result = run_cli(tmp, "sql", "--lake", "lake", "--format", "json", query)
    assert result.code == 0, result.err
    rows: list[dict[str, Any]] = result.json()
    return rows


def _start(tmp: Path, store: str, contract: str, run: str, n: int) -> dict[str, str]:
    """``attest init`` recording the start in ``store``; the state file is ``<run>.json``."""
    env = {**GITHUB_ENV, "GITHUB_RUN_ID": str(8000 + n), "ATTESTLAKE_STATE": f"{run}.json"}
    _ok(
        tmp,
        *("attest", "init", "--contract", contract, "--workflow", "build", "--project", "skynet"),
        *("--team", "ai", "--run-id", run, "--to", store, "--key", "ci.key"),
        env=env,
    )
    return env


def _finish(tmp: Path, env: dict[str, str], n: int) -> None:
    _ok(tmp, "attest", "add", "--name", "image", "--value", image(n), env=env)
    _ok(tmp, "attest", "add", "--name", "sbom", "--value", "sbom.json", env=env)
    _ok(tmp, "attest", "push", env=env)


#: SecOps signs what it publishes.
SECOPS = ("--key", "secops.key")


def _declared_state(tmp: Path, secops: str) -> None:
    """SecOps's key, and a trust policy that takes declared state from ``secops`` only."""
    assert run_cli(tmp, "keys", "generate", "--out", "secops").code == 0
    (tmp / "trust.yaml").write_text(
        f"keys:\n  - path: ci.pub\ndeclared_state:\n  stores: [{secops}]\n  keys: [secops.pub]\n"
    )


def _hostile_inventories(tmp: Path, tenant: str) -> None:
    """A tenant of the registry publishes an inventory that drops a workflow: unsigned, then
    signed with the CI key. Neither may become the inventory."""
    (tmp / "tenant.yaml").write_text(_inventory("daily").split("  - {workflow: release")[0])
    _ok(tmp, "inventory", "push", "tenant.yaml", "--to", tenant, "--unsigned")
    (tmp / "tenant.yaml").write_text(_inventory("weekly").split("  - {workflow: release")[0])
    _ok(tmp, "inventory", "push", "tenant.yaml", "--to", tenant, "--key", "ci.key")


def _crawl(tmp: Path, source: str) -> dict[str, Any]:
    args = ("crawl", "--from", source, "--lake", "lake", "--trust", "trust.yaml", "--json")
    result = run_cli(tmp, *args)
    assert result.code == 0, result.err
    summary: dict[str, Any] = result.json()
    return summary


def test_run_lifecycle_in_the_lake(tmp_path: Path, registry: RegistryServer) -> None:
    setup_workspace(tmp_path)
    store = f"{registry.host}/lifecycle/attestations"
    # pushed: started, then the final record (with SLSA provenance, the default)
    _finish(tmp_path, _start(tmp_path, store, "contract.yaml", "pushed", 1), 1)
    # failed: started, one material added, then reset as a failure
    failing = _start(tmp_path, store, "contract.yaml", "failing", 2)
    _ok(tmp_path, "attest", "add", "--name", "image", "--value", image(2), env=failing)
    _ok(
        tmp_path,
        *("attest", "reset", "--trigger", "failure", "--reason", "tests failed"),
        env=failing,
    )
    # unfinished: started, nothing else (yet)
    _start(tmp_path, store, "contract.yaml", "unfinished", 3)

    summary = _crawl(tmp_path, store)
    # 5 records (attestations); the final one holds 2 documents: run statement + provenance
    assert (summary["ingested"], summary["verified"], summary["not_verified"]) == (5, 5, 0)
    assert (summary["documents"], summary["documents_verified"]) == (6, 6)
    assert summary["rows"]["runs"] == 2 and summary["rows"]["run_events"] == 5

    runs = _sql(tmp_path, "SELECT run_id, status, reason FROM runs ORDER BY run_id")
    assert runs == [
        {"run_id": "failing", "status": "failed", "reason": "tests failed"},
        {"run_id": "pushed", "status": "success", "reason": None},
    ]
    events = _sql(
        tmp_path,
        "SELECT run_id, status, reason, event_at = coalesce(finished_at, started_at) AS at_end, "
        "workflow, runner_type, source FROM run_events "
        "ORDER BY run_id, status <> 'started', event_at",  # times are to the second
    )
    assert [(e["run_id"], e["status"], e["reason"]) for e in events] == [
        ("failing", "started", None),
        ("failing", "failed", "tests failed"),
        ("pushed", "started", None),
        ("pushed", "success", None),
        ("unfinished", "started", None),
    ]
    assert all(e["workflow"] == "build" and e["runner_type"] == "GITHUB_ACTION" for e in events)
    assert all(e["at_end"] for e in events)
    assert {e["source"].rsplit(":", 1)[1] for e in events} == {
        "run-failing-started",
        "run-failing-failure",
        "run-pushed-started",
        "run-pushed",
        "run-unfinished-started",
    }
    # What a run shipped comes from its final record only: nothing from starts or the failure.
    shipped = _sql(
        tmp_path,
        "SELECT 'materials' AS t, run_id, count(*) AS n FROM materials GROUP BY ALL "
        "UNION ALL SELECT 'subjects', coalesce(run_id, predicate_type), count(*) FROM subjects "
        "GROUP BY ALL ORDER BY ALL",
    )
    assert shipped == [
        {"t": "materials", "run_id": "pushed", "n": 2},
        {"t": "subjects", "run_id": "https://slsa.dev/provenance/v1", "n": 1},
        {"t": "subjects", "run_id": "pushed", "n": 1},
    ]
    provenance = _sql(tmp_path, "SELECT run_id, builder_id FROM provenance")
    assert [p["run_id"] for p in provenance] == ["pushed"]

    # The unfinished run ends later: one more event, and now a run.
    _finish(
        tmp_path, {**GITHUB_ENV, "GITHUB_RUN_ID": "8003", "ATTESTLAKE_STATE": "unfinished.json"}, 3
    )
    again = _crawl(tmp_path, store)
    assert (again["ingested"], again["already_known"], again["verified"]) == (1, 5, 1)
    statuses = _sql(tmp_path, "SELECT status, count(*) AS n FROM runs GROUP BY ALL ORDER BY ALL")
    assert statuses == [{"status": "failed", "n": 1}, {"status": "success", "n": 2}]


def test_published_contracts_and_inventory_in_the_lake(
    tmp_path: Path, registry: RegistryServer
) -> None:
    setup_workspace(tmp_path)
    secops, store = f"{registry.host}/published/secops", f"{registry.host}/published/runs"
    _declared_state(tmp_path, secops)
    for n in (1, 2):
        (tmp_path / f"r{n}.yaml").write_text(_revision(n))
        _ok(tmp_path, "contract", "push", f"r{n}.yaml", "--to", secops, *SECOPS)
    (tmp_path / "inventory.yaml").write_text(_inventory("daily"))
    _ok(tmp_path, "inventory", "push", "inventory.yaml", "--to", secops, *SECOPS)
    _hostile_inventories(tmp_path, f"{registry.host}/published/tenant")
    # Two runs attest against revision 2, then SecOps publishes revision 3 (adds a SARIF scan).
    for n, run in ((1, "first"), (2, "second")):
        time.sleep(1.01 - time.time() % 1)  # runs start in different seconds (their precision)
        _finish(tmp_path, _start(tmp_path, store, f"{secops}#skynet-build@2", run, n), n)
    (tmp_path / "r3.yaml").write_text(_revision(3, scan=True))
    _ok(tmp_path, "contract", "push", "r3.yaml", "--to", secops, *SECOPS)

    summary = _crawl(tmp_path, f"{registry.host}/published/*")  # every repository
    assert summary["published"] == {"contract": 3, "inventory": 3}
    # A tenant's inventories are read, recorded, and not taken: not SecOps's store.
    untrusted = _sql(
        tmp_path,
        "SELECT name, revision, status, reason, signer FROM published_documents "
        "WHERE source LIKE '%/published/tenant:%' ORDER BY revision",
    )
    assert untrusted == [
        {"name": "cyberdyne", "revision": 1, "status": "not_verified",
         "reason": "untrusted_store", "signer": None},
        {"name": "cyberdyne", "revision": 2, "status": "not_verified",
         "reason": "untrusted_store", "signer": None},
    ]  # fmt: skip
    assert (summary["ingested"], summary["verified"], summary["not_verified"]) == (4, 4, 0)
    assert summary["other_manifests"] == 0  # the `latest` tags name manifests read once

    published = _sql(
        tmp_path,
        "SELECT kind, name, revision, error IS NULL AS ok, published_at IS NOT NULL AS dated, "
        "status, signer, source FROM published_documents WHERE source NOT LIKE '%/tenant:%' "
        "ORDER BY kind, revision",
    )
    assert [
        (p["kind"], p["name"], p["revision"], p["ok"], p["dated"], p["status"], p["signer"])
        for p in published
    ] == [
        ("contract", "skynet-build", 1, True, True, "verified", "secops.pub"),
        ("contract", "skynet-build", 2, True, True, "verified", "secops.pub"),
        ("contract", "skynet-build", 3, True, True, "verified", "secops.pub"),
        ("inventory", "cyberdyne", 1, True, True, "verified", "secops.pub"),
    ]
    assert published[2]["source"].endswith("/published/secops:contract-skynet-build.r3")
    # Revision 3 is known although no run used it: its requirements were published.
    required = _sql(
        tmp_path,
        "SELECT material_name, published_at IS NOT NULL AS published FROM contract_requirements "
        "WHERE contract_revision = 3 ORDER BY material_name",
    )
    assert [(r["material_name"], r["published"]) for r in required] == [
        ("image", True),
        ("sbom", True),
        ("scan", True),
    ]
    report = run_cli(tmp_path, "query", "run", "non_compliant_workflows", "--lake", "lake",
                     "--format", "json")  # fmt: skip
    assert report.code == 0, report.err
    assert [
        (
            r["run_id"],
            r["run_contract_revision"],
            r["latest_contract_revision"],
            r["missing_material"],
        )
        for r in report.json()["rows"]
    ] == [("second", 2, 3, "scan")]  # the latest run of build; older runs are not findings
    assert report.json()["findings"] == 1 and report.json()["missing_inputs"] == []

    inventory = _sql(
        tmp_path,
        "SELECT workflow, owner, cadence, cadence_hours, revision FROM inventory ORDER BY workflow",
    )
    assert inventory == [
        {"workflow": "build", "owner": "sarah@cyberdyne.example", "cadence": "daily",
         "cadence_hours": 24, "revision": 1},
        {"workflow": "release", "owner": "miles@cyberdyne.example", "cadence": "on-demand",
         "cadence_hours": None, "revision": 1},
    ]  # fmt: skip

    # A new inventory revision: both are kept, the current one is the highest revision.
    (tmp_path / "inventory.yaml").write_text(_inventory("12h"))
    _ok(tmp_path, "inventory", "push", "inventory.yaml", "--to", secops, *SECOPS)
    again = _crawl(tmp_path, f"{registry.host}/published/*")
    assert again["published"] == {"inventory": 1} and again["ingested"] == 0
    current = _sql(
        tmp_path,
        "SELECT workflow, cadence_hours FROM inventory "
        "QUALIFY revision = max(revision) OVER (PARTITION BY inventory_name) ORDER BY workflow",
    )
    assert current == [
        {"workflow": "build", "cadence_hours": 12},
        {"workflow": "release", "cadence_hours": None},
    ]
    assert _sql(tmp_path, "SELECT count(*) AS n FROM inventory") == [{"n": 4}]
    third = _crawl(tmp_path, f"{registry.host}/published/*")
    assert third["published"] == {} and third["ingested"] == 0

    # SecOps's key is dropped from the policy: a re-evaluation, with no registry involved,
    # takes every published revision out of the declared state; putting it back restores it.
    (tmp_path / "runs-only.yaml").write_text("keys:\n  - path: ci.pub\n")
    dropped = run_cli(tmp_path, "reverify", "--lake", "lake", "--trust", "runs-only.yaml", "--json")
    assert dropped.code == 0, dropped.err
    # 3 contracts and 2 inventory revisions leave; the tenant's 2 stay out, for another reason
    # (no declared_state at all, where it was a store the policy does not name)
    assert dropped.json()["changes"] == {"untrusted": 5, "reason": 2}
    assert _sql(tmp_path, "SELECT count(*) AS n FROM inventory") == [{"n": 0}]
    assert _sql(tmp_path, "SELECT count(*) AS n FROM runs") == [{"n": 2}]  # runs unchanged
    back = run_cli(tmp_path, "reverify", "--lake", "lake", "--trust", "trust.yaml", "--json")
    assert back.code == 0 and back.json()["changes"] == {"trusted": 5, "reason": 2}
    assert _sql(tmp_path, "SELECT count(*) AS n FROM inventory") == [{"n": 4}]
