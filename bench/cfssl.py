"""The peer for issuance: Debian's `cfssl serve` with an EC P-256 intermediate made here,
a profile with the same usages and lifetime as certkeeper's template, and optionally
cfssl's SQLite certdb (the schema of cfssl's certdb/sqlite migration)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench import pki
from bench.proc import Server, free_port

PROFILE = "web"
USAGES = ["digital signature", "key encipherment", "server auth", "client auth"]  # = certkeeper's template
CERTDB_SCHEMA = """
CREATE TABLE certificates (
  serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, ca_label blob, status blob NOT NULL,
  reason int, expiry timestamp, revoked_at timestamp, pem blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier));
CREATE TABLE ocsp_responses (
  serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, body blob NOT NULL, expiry timestamp,
  PRIMARY KEY(serial_number, authority_key_identifier));
"""


def newcert_body(algo: str = "ecdsa", size: int = 256) -> dict[str, Any]:
    """The same leaf as certkeeper's request: a key made by the server (EC P-256 or RSA), same names."""
    return {"request": {"CN": pki.COMMON_NAME, "hosts": [pki.COMMON_NAME, *pki.ALT_NAMES],
                        "key": {"algo": algo, "size": size}}, "profile": PROFILE}


def sign_body(csr: str) -> dict[str, Any]:
    """`/api/v1/cfssl/sign` of a client CSR with the same profile."""
    return {"certificate_request": csr, "profile": PROFILE}


def _ca(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
        issuer_key: ec.EllipticCurvePrivateKey | None) -> x509.Certificate:
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer.subject if issuer else name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    return builder.sign(issuer_key or key, hashes.SHA256())


def write_ca(directory: Path) -> tuple[Path, Path]:
    """An EC P-256 root and the intermediate cfssl signs with; returns (cert, key) paths."""
    root_key, int_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = _ca("Bench cfssl Root", root_key, None, None)
    intermediate = _ca("Bench cfssl Intermediate", int_key, root, root_key)
    cert, key = directory / "ca.pem", directory / "ca-key.pem"
    cert.write_bytes(intermediate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(int_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption()))
    return cert, key


def server(name: str, directory: Path, *, certdb: bool = False) -> Server:
    """A not yet started `cfssl serve`; with ``certdb``, every issued certificate goes to SQLite."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = write_ca(directory)
    profile = {"expiry": pki.TTL, "usages": USAGES}
    config = directory / "config.json"
    config.write_text(json.dumps({"signing": {"default": profile, "profiles": {PROFILE: profile}}}))
    port = free_port()
    argv = ["cfssl", "serve", "-address", "127.0.0.1", "-port", str(port), "-ca", str(cert), "-ca-key", str(key),
            "-config", str(config), "-loglevel", "3"]
    if certdb:
        db = directory / "certs.db"
        with sqlite3.connect(db) as conn:
            conn.executescript(CERTDB_SCHEMA)
        db_config = directory / "db-config.json"
        db_config.write_text(json.dumps({"driver": "sqlite3", "data_source": str(db)}))
        argv += ["-db-config", str(db_config)]
    return Server(name, argv, port, directory / f"{name}.log")


def stored_certificates(directory: Path) -> int:
    db = directory / "certs.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM certificates").fetchone()[0])
