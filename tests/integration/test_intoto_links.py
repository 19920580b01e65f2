"""in-toto links made by in-toto's own ``in-toto-run`` (in-toto 3.x), signed with keys made by
securesystemslib: verified with the trust policy's keys (found by the key ids in-toto writes),
and their materials and products kept in ``link_artifacts``.

in-toto 3 writes a link two ways: a DSSE envelope (``--use-dsse``) and, by default, the older
metablock signed over canonical JSON. Both are verified; a tampered copy is a bad signature
and a link by a key outside the policy an untrusted signer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from securesystemslib.formats import encode_canonical as sslib_canonical
from securesystemslib.signer import CryptoSigner, SSlibKey

from attestlake.errors import ContentError
from attestlake.intoto.canonical import encode_canonical
from attestlake.signing.keys import load_public_key, securesystemslib_keyid
from attestlake.verify.outcome import NOT_VERIFIED, VERIFIED, Outcome
from attestlake.verify.verify import load_policy, verify_document
from tests.integration.cli_helpers import run_cli

IN_TOTO_RUN = Path(sys.executable).parent / "in-toto-run"
SOURCE = b"print('hello')\n"


@dataclass(frozen=True)
class Key:
    name: str
    private: Path
    public: Path


def make_key(directory: Path, name: str, signer: CryptoSigner) -> Key:
    """A securesystemslib key pair written as in-toto-run reads it (PKCS#8 PEM)."""
    private = directory / f"{name}.key"
    private.write_bytes(signer.private_bytes)
    crypto = serialization.load_pem_private_key(signer.private_bytes, None)
    public = directory / f"{name}.pub.pem"
    public.write_bytes(
        crypto.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return Key(name, private, public)


def in_toto_run(workdir: Path, step: str, key: Key, *, dsse: bool) -> Path:
    """Run ``in-toto-run`` for a step that builds ``dist/app.py`` from ``src/app.py``; the
    link file it writes (``<step>.<keyid prefix>.link``)."""
    (workdir / "src").mkdir(exist_ok=True)
    (workdir / "src" / "app.py").write_bytes(SOURCE)
    command = [
        str(IN_TOTO_RUN), "--step-name", step, "--signing-key", str(key.private),
        "--materials", "src", "--products", "dist", *(["--use-dsse"] if dsse else []),
        "--", sys.executable, "-c",
        "import os, shutil; os.makedirs('dist', exist_ok=True); "
        "shutil.copy('src/app.py', 'dist/app.py')",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (link,) = workdir.glob(f"{step}.*.link")
    return link


@dataclass(frozen=True)
class Links:
    root: Path
    ci: Key
    ed: Key
    outsider: Key
    dsse: Path
    metablock: Path
    ed_dsse: Path
    by_outsider: Path


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> Links:
    root = tmp_path_factory.mktemp("links")
    keys = root / "keys"
    keys.mkdir()
    ci = make_key(keys, "ci", CryptoSigner.generate_ecdsa())
    ed = make_key(keys, "ed", CryptoSigner.generate_ed25519())
    outsider = make_key(keys, "outsider", CryptoSigner.generate_ecdsa())
    made = root / "made"
    made.mkdir()
    return Links(
        root, ci, ed, outsider,
        dsse=in_toto_run(made, "build", ci, dsse=True),
        metablock=in_toto_run(made, "package", ci, dsse=False),
        ed_dsse=in_toto_run(made, "review", ed, dsse=True),
        by_outsider=in_toto_run(made, "sneak", outsider, dsse=True),
    )  # fmt: skip


def policy_file(links: Links, extra: str = "") -> Path:
    path = links.root / "trust.yaml"
    path.write_text(f"keys:\n  - path: {links.ci.public}\n  - path: {links.ed.public}\n{extra}")
    return path


def verify(links: Links, raw: bytes, extra: str = "") -> Outcome:
    return verify_document(raw, load_policy(policy_file(links, extra)))


def tampered_dsse(raw: bytes) -> bytes:
    """The DSSE link with its product's digest replaced, the signature kept."""
    envelope = json.loads(raw)
    link = json.loads(base64.b64decode(envelope["payload"]))
    link["products"]["dist/app.py"]["sha256"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(link).encode()).decode()
    return json.dumps(envelope).encode()


def tampered_metablock(raw: bytes) -> bytes:
    block = json.loads(raw)
    block["signed"]["products"]["dist/app.py"]["sha256"] = "0" * 64
    return json.dumps(block).encode()


def test_in_toto_writes_what_the_formats_say(links: Links) -> None:
    """The samples are what in-toto 3 writes: DSSE with the link as payload, the metablock by
    default, each signature naming the key by its securesystemslib key id."""
    envelope = json.loads(links.dsse.read_bytes())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert json.loads(base64.b64decode(envelope["payload"]))["_type"] == "link"
    block = json.loads(links.metablock.read_bytes())
    assert block["signed"]["_type"] == "link"
    sslib_id = SSlibKey.from_crypto(load_public_key(links.ci.public)).keyid
    assert [s["keyid"] for s in envelope["signatures"]] == [sslib_id]
    assert [s["keyid"] for s in block["signatures"]] == [sslib_id]
    assert links.dsse.name == f"build.{sslib_id[:8]}.link"


@pytest.mark.parametrize("which", ["dsse", "metablock", "ed_dsse"])
def test_genuine_links_verify_with_the_signer_recorded(links: Links, which: str) -> None:
    path: Path = getattr(links, which)
    key = links.ed if which == "ed_dsse" else links.ci
    outcome = verify(links, path.read_bytes())
    assert (outcome.status, outcome.reason, outcome.detail) == (VERIFIED, None, None)
    assert outcome.signer == str(key.public)
    assert (
        outcome.key_id
        == "sha256:"
        + hashlib.sha256(
            load_public_key(key.public).public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).hexdigest()
    )
    assert outcome.format == ("in-toto-link" if which == "metablock" else "in-toto-link-dsse")
    assert outcome.link is not None
    artifacts = {(a.kind, a.path, a.algorithm, a.digest) for a in outcome.link.artifacts}
    digest = hashlib.sha256(SOURCE).hexdigest()
    assert artifacts == {
        ("material", "src/app.py", "sha256", digest),
        ("product", "dist/app.py", "sha256", digest),
    }
    assert outcome.link.command[0] == sys.executable


@pytest.mark.parametrize(
    ("which", "tamper"), [("dsse", tampered_dsse), ("metablock", tampered_metablock)]
)
def test_a_tampered_link_is_a_bad_signature_against_the_key_it_names(
    links: Links, which: str, tamper: Any
) -> None:
    outcome = verify(links, tamper(getattr(links, which).read_bytes()))
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "bad_signature")
    assert outcome.signer == str(links.ci.public)
    assert outcome.detail is not None and "the key it names" in outcome.detail


def test_a_link_by_a_key_outside_the_policy_is_an_untrusted_signer(links: Links) -> None:
    outcome = verify(links, links.by_outsider.read_bytes())
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "untrusted_signer")
    sslib_id = SSlibKey.from_crypto(load_public_key(links.outsider.public)).keyid
    assert outcome.key_id == sslib_id
    assert outcome.signer is None


def test_a_scoped_key_does_not_verify_a_link_which_names_no_project(links: Links) -> None:
    path = links.root / "scoped.yaml"
    path.write_text(f"keys:\n  - path: {links.ci.public}\n    projects: [payments]\n")
    outcome = verify_document(links.dsse.read_bytes(), load_policy(path))
    assert (outcome.status, outcome.reason) == (NOT_VERIFIED, "untrusted_signer")
    assert "trusts only for projects payments" in (outcome.detail or "")


@pytest.mark.parametrize(
    ("mutate", "reason", "detail"),
    [
        (lambda link: link.update(materials=["src/app.py"]), "malformed", "materials is not"),
        (lambda link: link.update(products={"a": {"sha256": 1}}), "malformed", "algorithm"),
        (lambda link: link.update(name=""), "malformed", "link has no name"),
        (lambda link: link.update(command="make"), "malformed", "command is not a list"),
    ],
)
def test_malformed_links_are_malformed_outcomes(
    links: Links, mutate: Any, reason: str, detail: str
) -> None:
    for path in (links.dsse, links.metablock):
        doc = json.loads(path.read_bytes())
        if "signed" in doc:
            mutate(doc["signed"])
        else:
            link = json.loads(base64.b64decode(doc["payload"]))
            mutate(link)
            doc["payload"] = base64.b64encode(json.dumps(link).encode()).decode()
        outcome = verify(links, json.dumps(doc).encode())
        assert (outcome.status, outcome.reason) == (NOT_VERIFIED, reason), path.name
        assert detail in (outcome.detail or "")


def test_hostile_metablocks(links: Links) -> None:
    block = json.loads(links.metablock.read_bytes())
    layout = {**block, "signed": {**block["signed"], "_type": "layout"}}
    outcome = verify(links, json.dumps(layout).encode())
    assert (outcome.reason, outcome.format) == ("unsupported", "in-toto-metablock")
    floats = {**block, "signed": {**block["signed"], "byproducts": {"return-value": 0.5}}}
    outcome = verify(links, json.dumps(floats).encode())
    assert outcome.reason == "malformed" and "canonical JSON has no float" in (outcome.detail or "")
    bad_hex = {**block, "signatures": [{"keyid": "x", "sig": "zz"}]}
    assert verify(links, json.dumps(bad_hex).encode()).reason == "malformed"
    unsigned = {**block, "signatures": []}
    assert verify(links, json.dumps(unsigned).encode()).reason == "no_trust_material"


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [True, False, None, -3, "x"]},
        {"q": 'quote " and \\ backslash', "nl": "line\nbreak\ttab\x01", "é": "ünï €"},
        {"nested": {"z": {}, "y": [], "": ""}},
    ],
)
def test_canonical_json_is_securesystemslib_s(value: Any) -> None:
    assert encode_canonical(value) == sslib_canonical(value).encode()


def test_canonical_json_refuses_what_securesystemslib_refuses() -> None:
    with pytest.raises(ContentError, match="no float"):
        encode_canonical({"a": 1.5})


@pytest.mark.parametrize(
    "generate",
    [CryptoSigner.generate_ecdsa, CryptoSigner.generate_ed25519, CryptoSigner.generate_rsa],
)
def test_key_ids_as_securesystemslib_computes_them(tmp_path: Path, generate: Any) -> None:
    key = make_key(tmp_path, "k", generate())
    public = load_public_key(key.public)
    assert securesystemslib_keyid(public) == SSlibKey.from_crypto(public).keyid


def table(cwd: Path, sql: str) -> list[str]:
    out = run_cli(cwd, "sql", "--lake", "lake", "--format", "csv", sql)
    assert out.code == 0, out.err
    return out.out.splitlines()


def test_crawled_links_keep_their_artifacts_and_follow_the_trust_policy(links: Links) -> None:
    """A folder of links (as in-toto leaves them) crawled into a lake: every artifact a row,
    trusted only for the genuine links; a re-evaluation without the CI key untrusts them,
    and the lake stays consistent."""
    cwd = links.root / "crawl"
    folder = cwd / "links"
    folder.mkdir(parents=True)
    for path in (links.dsse, links.metablock, links.by_outsider):
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "build.tampered.link").write_bytes(tampered_dsse(links.dsse.read_bytes()))
    policy_file(links)
    crawl = run_cli(
        cwd, "crawl", "--from", "links", "--lake", "lake", "--trust", str(policy_file(links))
    )
    assert crawl.code == 0, crawl.err
    verdicts = table(cwd, "SELECT source, status, reason, format FROM verifications ORDER BY 1")
    assert verdicts == [
        "source,status,reason,format",
        f"links/{links.dsse.name},verified,,in-toto-link-dsse",
        "links/build.tampered.link,not_verified,bad_signature,in-toto-link-dsse",
        f"links/{links.metablock.name},verified,,in-toto-link",
        f"links/{links.by_outsider.name},not_verified,untrusted_signer,in-toto-link-dsse",
    ]
    rows = table(
        cwd,
        "SELECT step, kind, path, digest_algorithm, digest_value, trusted, signer "
        "FROM link_artifacts ORDER BY step, trusted, kind",
    )
    digest, ci = hashlib.sha256(SOURCE).hexdigest(), links.ci.public
    assert rows == [
        "step,kind,path,digest_algorithm,digest_value,trusted,signer",
        f"build,material,src/app.py,sha256,{digest},false,{ci}",
        f"build,product,dist/app.py,sha256,{'0' * 64},false,{ci}",
        f"build,material,src/app.py,sha256,{digest},true,{ci}",
        f"build,product,dist/app.py,sha256,{digest},true,{ci}",
        f"package,material,src/app.py,sha256,{digest},true,{ci}",
        f"package,product,dist/app.py,sha256,{digest},true,{ci}",
        f"sneak,material,src/app.py,sha256,{digest},false,",
        f"sneak,product,dist/app.py,sha256,{digest},false,",
    ]
    (cwd / "other.yaml").write_text(f"keys:\n  - path: {links.outsider.public}\n")
    again = run_cli(cwd, "reverify", "--lake", "lake", "--trust", "other.yaml")
    assert again.code == 0, again.out + again.err
    per_step = "SELECT step, bool_and(trusted) AS t FROM link_artifacts GROUP BY step ORDER BY 1"
    assert table(cwd, per_step) == [
        "step,t",
        "build,false",
        "package,false",
        "sneak,true",
    ]
    check = run_cli(cwd, "lake", "check", "--lake", "lake")
    assert check.code == 0, check.out + check.err
