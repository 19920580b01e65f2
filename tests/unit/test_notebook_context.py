"""Which lake a notebook reads (parameter, environment, sample lake) and the team owners."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from attestlake.errors import InputError, LakeError
from attestlake.notebook import context as ctxmod
from attestlake.notebook.context import (
    LAKE_ENV,
    ORGANISATION_ENV,
    load_owners,
    open_context,
    resolve_lake,
    sample_lake,
)
from tests.demo_lake import NOW

SAMPLE_OWNERS = {
    "payments": "sarah.connor@cyberdyne.example",
    "identity": "miles.dyson@cyberdyne.example",
    "platform": "kyle.reese@cyberdyne.example",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_lake(tmp_path_factory.mktemp("cache") / "sample", now=NOW)


def test_the_sample_lake_is_built_once_then_reused(sample: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert (sample / "runs").is_dir()
    calls: list[Path] = []
    monkeypatch.setattr(ctxmod, "run_demo", lambda d, **_: calls.append(d))
    assert sample_lake(sample.parent, now=NOW) == sample
    assert calls == []
    (sample.parent / ".attestlake-notebook-sample").write_text("0.0.0 old tables\n")
    sample_lake(sample.parent, now=NOW)
    assert calls == [sample.parent]


def test_the_sample_lake_lives_in_the_user_cache(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(LAKE_ENV, raising=False)
    built: list[Path] = []
    monkeypatch.setattr(ctxmod, "run_demo", lambda d, **_: built.append(d) or d.mkdir(parents=True))
    assert resolve_lake(None) == tmp_path / "attestlake" / "sample" / "lake"
    assert built == [tmp_path / "attestlake" / "sample"]


def test_the_parameter_wins_over_the_environment(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(LAKE_ENV, str(tmp_path / "from-env"))
    assert resolve_lake(None) == tmp_path / "from-env"
    assert resolve_lake(tmp_path / "given") == tmp_path / "given"


def test_a_demo_lake_gets_the_sample_owners(sample: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(ORGANISATION_ENV, raising=False)
    context = open_context(sample)
    assert context.owners == SAMPLE_OWNERS
    # The demo publishes its inventory (same owners) when its sample data has one.
    if ctxmod.inventory_owners(context.lake) is None:
        assert context.owners_source.endswith("organisation.yaml")
    else:
        assert context.owners_source == ctxmod.INVENTORY_SOURCE
    assert context.owner("identity") == "miles.dyson@cyberdyne.example"
    assert context.owner(None) is None


def test_an_organisation_file_and_an_inventory_table(sample: Path, tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text("teams:\n  - {name: payments, owner: ops@example.com}\n  - {name: nobody}\n")
    assert open_context(sample, org).owners == {"payments": "ops@example.com"}

    context = open_context(sample, org)
    inventory = pa.table(
        {
            "inventory_name": ["org", "org", "org", "org", "teams"],
            "revision": [2, 2, 2, 1, 1],  # revision 1 of "org" is no longer current
            "team": ["identity", "identity", "payments", "payments", "ops"],
            "owner": ["b@example.com", "a@example.com", "p@example.com", "old@example.com", "o@x"],
        }
    )
    context.lake.con.register("_inv", inventory)
    context.lake.con.sql("CREATE OR REPLACE VIEW inventory AS SELECT * FROM _inv")
    assert ctxmod.inventory_owners(context.lake) == {
        "identity": "a@example.com, b@example.com",
        "ops": "o@x",
        "payments": "p@example.com",
    }


def test_a_bad_organisation_file_says_what_is_expected(tmp_path: Path) -> None:
    bad = tmp_path / "org.yaml"
    bad.write_text("teams: {payments: me}\n")
    with pytest.raises(InputError, match="'teams' list"):
        load_owners(bad)
    with pytest.raises(InputError, match="cannot read"):
        load_owners(tmp_path / "missing.yaml")


def test_not_a_lake_says_how_to_choose_one(tmp_path: Path) -> None:
    with pytest.raises(LakeError, match="set LAKE in the parameters cell"):
        open_context(tmp_path)
