"""Witness envelopes signed with X.509 certificates and RFC 3161 timestamps, made with real
tools: ``openssl ca`` issues the certificates (a root, an intermediate, code-signing leaves),
``openssl dgst`` signs the DSSE PAE with a leaf's key, and ``openssl ts`` is the timestamp
authority (``-query`` over the signature bytes, ``-reply`` by a TSA certificate with the
critical ``timeStamping`` usage). The envelope is written as go-witness writes it
(``dsse.Signature``: ``keyid``, ``sig``, ``certificate`` (PEM), ``intermediates`` (PEM),
``timestamps`` ``[{"type": "tsp", "data": <DER token>}]``, each byte field base64 as Go's
``encoding/json`` writes ``[]byte``)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from attestlake.intoto.dsse import INTOTO_PAYLOAD_TYPE, pae

CA_EXTENSIONS = """basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""
CODE_SIGNING = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""
TIME_STAMPING = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""

_CA_CONFIG = (
    """[ca]
default_ca = ca_default
[ca_default]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
default_md = sha256
policy = anything
unique_subject = no
preserve = yes
copy_extensions = none
[anything]
commonName = optional
organizationName = optional
emailAddress = optional
[req]
distinguished_name = dn
[dn]
[v3]
"""
    + CA_EXTENSIONS
)

_TSA_CONFIG = """[tsa]
default_tsa = this_tsa
[this_tsa]
dir = {dir}
serial = $dir/tsa-serial
crypto_device = builtin
signer_cert = {cert}
certs = {chain}
signer_key = {key}
signer_digest = sha256
default_policy = 1.3.6.1.4.1.57264.99.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args: str | Path, data: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["openssl", *map(str, args)], input=data, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def _asn1_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key (PEM files)."""

    cert: Path
    key: Path

    @property
    def pem(self) -> bytes:
        return self.cert.read_bytes()


class OpensslCA:
    """A certificate authority run with ``openssl ca`` in its own directory."""

    def __init__(self, home: Path, issued: Issued) -> None:
        self.home, self.issued = home, issued

    @classmethod
    def root(cls, home: Path, subject: str) -> OpensslCA:
        home.mkdir(parents=True)
        (home / "issued").mkdir()
        (home / "index.txt").write_text("")
        (home / "serial").write_text("1000\n")
        (home / "ca.cnf").write_text(_CA_CONFIG.format(dir=home))
        key, cert = home / "ca.key", home / "ca.pem"
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
        openssl(
            "req", "-x509", "-new", "-key", key, "-subj", subject, "-days", "3650",
            "-config", home / "ca.cnf", "-extensions", "v3", "-out", cert,
        )  # fmt: skip
        return cls(home, Issued(cert, key))

    def issue(
        self,
        name: str,
        subject: str,
        extensions: str,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        curve: str = "P-256",
    ) -> Issued:
        """A certificate for ``subject`` with ``extensions`` (an openssl extension section's
        body), valid from ``not_before`` (default: an hour ago) to ``not_after`` (default: in
        a year)."""
        now = datetime.now(UTC)
        key, csr = self.home / f"{name}.key", self.home / f"{name}.csr"
        cert, ext = self.home / f"{name}.pem", self.home / f"{name}.ext"
        openssl(
            "genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}", "-out", key
        )
        openssl("req", "-new", "-key", key, "-subj", subject, "-out", csr)
        ext.write_text("[x]\n" + extensions)
        openssl(
            "ca", "-batch", "-notext", "-config", self.home / "ca.cnf",
            "-cert", self.issued.cert, "-keyfile", self.issued.key,
            "-in", csr, "-out", cert, "-extfile", ext, "-extensions", "x",
            "-startdate", _asn1_time(not_before or now - timedelta(hours=1)),
            "-enddate", _asn1_time(not_after or now + timedelta(days=365)),
        )  # fmt: skip
        return Issued(cert, key)

    def intermediate(self, name: str, subject: str) -> OpensslCA:
        """A CA certified by this one, in its own directory."""
        issued = self.issue(name, subject, CA_EXTENSIONS)
        sub = OpensslCA.root(self.home / name, subject)
        for src, dst in ((issued.cert, sub.issued.cert), (issued.key, sub.issued.key)):
            dst.write_bytes(src.read_bytes())
        return sub


class OpensslTSA:
    """An RFC 3161 timestamp authority: ``openssl ts -reply`` with a TSA certificate."""

    def __init__(self, home: Path, ca: OpensslCA) -> None:
        self.home, self.ca = home, ca
        home.mkdir(parents=True)
        self.signer = ca.issue(f"tsa-{home.name}", f"/CN={home.name} TSA/O=Example", TIME_STAMPING)
        (home / "tsa-serial").write_text("01\n")
        chain = home / "chain.pem"
        chain.write_bytes(ca.issued.pem)
        self.config = home / "tsa.cnf"
        self.config.write_text(
            _TSA_CONFIG.format(dir=home, cert=self.signer.cert, chain=chain, key=self.signer.key)
        )

    def token(self, data: bytes, *, response: bool = False) -> bytes:
        """A DER timestamp token over ``data`` (sha256 imprint, the TSA's certificate in it),
        or the whole TimeStampResp."""
        query, out = self.home / "query.tsq", self.home / "reply.der"
        openssl("ts", "-query", "-sha256", "-cert", "-out", query, data=data)
        extra = [] if response else ["-token_out"]
        openssl("ts", "-reply", "-config", self.config, "-queryfile", query, "-out", out, *extra)
        return out.read_bytes()


def statement(name: str = "witness.example/build") -> bytes:
    body: dict[str, Any] = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [
            {"name": name, "digest": {"sha256": hashlib.sha256(name.encode()).hexdigest()}}
        ],
        "predicateType": "https://witness.testifysec.com/attestation-collection/v0.1",
        "predicate": {"name": "build", "attestations": []},
    }
    return json.dumps(body).encode()


def sign(key: Path, message: bytes) -> bytes:
    """An ECDSA (ASN.1 DER) signature over ``message``, as go-witness's ECDSA signer makes."""
    return openssl("dgst", "-sha256", "-sign", key, data=message)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def witness_keyid(leaf: Issued) -> str:
    """go-witness's key id: the sha256 of the signer's public key PEM."""
    return hashlib.sha256(openssl("pkey", "-in", leaf.key, "-pubout")).hexdigest()


def envelope(
    leaf: Issued,
    intermediates: list[bytes],
    *,
    tsas: tuple[OpensslTSA, ...] | list[OpensslTSA] = (),
    payload: bytes | None = None,
    stamp: bytes | None = None,
) -> dict[str, Any]:
    """A witness DSSE envelope over ``payload`` signed by ``leaf``, each TSA timestamping the
    signature (or ``stamp``, other bytes, when given)."""
    body = statement() if payload is None else payload
    sig = sign(leaf.key, pae(INTOTO_PAYLOAD_TYPE, body))
    signature: dict[str, Any] = {
        "keyid": witness_keyid(leaf),
        "sig": b64(sig),
        "certificate": b64(leaf.pem),
    }
    if intermediates:
        signature["intermediates"] = [b64(i) for i in intermediates]
    if tsas:
        signature["timestamps"] = [
            {"type": "tsp", "data": b64(t.token(sig if stamp is None else stamp))} for t in tsas
        ]
    return {"payload": b64(body), "payloadType": INTOTO_PAYLOAD_TYPE, "signatures": [signature]}
