"""Helpers for the DUIS tests: test certificates made with `cryptography`, fixtures filled in."""

from __future__ import annotations

import base64
import copy
import datetime
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "duis"
EXAMPLE_STATE: dict[str, Any] = json.loads((REPO / "examples" / "stuck-smets1" / "state.json").read_text())

SUPPLIER, NO_A, NO_B = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00", "90-B3-D5-1F-30-03-00-00"
DEV = "00-DB-12-34-56-78-90-A0"
ISSUER = "CN=Test Issuing CA, OU=07"


@lru_cache(maxsize=1)
def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@lru_cache(maxsize=64)
def make_cert(role_code: str, owner: str | None, *, ou_count: int = 1, uid_octets: int = 8) -> str:
    """A base64 DER Organisation Certificate: `role_code` in the subject OU, `owner` in x500UniqueIdentifier."""
    attrs = [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role_code) for _ in range(ou_count)]
    if owner is not None:
        octets = bytes.fromhex(owner.replace("-", ""))[:uid_octets].ljust(uid_octets, b"\0")
        attrs.append(x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\0" + octets, _ASN1Type.BitString))
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Issuing CA"),
                        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "07")])
    start = datetime.datetime(2025, 9, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name(attrs)).issuer_name(issuer)
            .public_key(_key().public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
            .sign(_key(), hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def fixture(name: str, **certs: str) -> str:
    """A hand-written request from tests/duis/, with its certificate placeholders filled."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for key, value in certs.items():
        text = text.replace("{" + key + "}", value)
    return text


def krp(role_code: str = "03", owner: str = NO_A, **kw: str) -> str:
    """The stuck-SMETS1 story as DUIS: B (…-03) sends 6.15.1 to put A's (…-02) certificate in the NO cell."""
    cert = make_cert(role_code, owner)
    return fixture("krp-6.15.1.xml", SIGNING_CERT=kw.get("signing", cert), KEY_AGREEMENT_CERT=kw.get("key_agreement", cert))


def cos(owner: str = SUPPLIER) -> str:
    cert = make_cert("02", owner)
    return fixture("cos-6.23.xml", SIGNING_CERT=cert, KEY_AGREEMENT_CERT=cert, TOP_UP_CERT=cert)


def state(**extra: Any) -> dict[str, Any]:
    """The stuck-SMETS1 state with signing certificates for B (ED) and the Supplier (IS)."""
    s = copy.deepcopy(EXAMPLE_STATE)
    s["signing_certificates"] = {
        "CN=Test Issuing CA,OU=07|3003": {"party": NO_B, "role": "ED"},
        "CN=Test Issuing CA,OU=07|1001": {"party": SUPPLIER, "role": "IS"},
    }
    s.update(extra)
    return s
