"""Organisation certificates (SMKI, GBCS): whose they are and for which Remote Party role.

An SMKI Organisation Certificate carries its Remote Party role code in the
subject `OU` (two hex digits, GBCS Table 4.3.3: 00 root ... 08 loadController)
and its owner's Entity Identifier in the subject `x500UniqueIdentifier`
(OID 2.5.4.45, a BIT STRING of the eight octets). The certificate is decoded
with `cryptography`; nothing about it is taken from the XML around it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from redline.duis.errors import DuisError

# GBCS role code -> DUIS RemotePartyRole (the codes a device holds a trust anchor for).
ROLE_CODES: dict[int, str] = {
    0x00: "Root", 0x01: "Recovery", 0x02: "Supplier", 0x03: "NetworkOperator",
    0x04: "ACB", 0x05: "TransCoS", 0x08: "LoadController",
}
OTHER_CODES = {0x06: "wanProvider", 0x07: "issuingAuthority", 0x7F: "other"}
MAX_CERTIFICATE_BYTES = 16 * 1024
ROLE_CODE = re.compile("[0-9A-Fa-f]{2}")


@dataclass(frozen=True, slots=True)
class OrgCertificate:
    role_code: int
    remote_party_role: str
    owner: str  # Entity Identifier, eight upper-case hex pairs
    serial: int


def decode_certificate(text: str | None, where: str) -> OrgCertificate:
    """The role and owner of the base64 DER certificate `text`; DuisError if it cannot say."""
    raw = "".join((text or "").split())
    if not raw:
        raise DuisError(where, "the certificate element is empty")
    if len(raw) > MAX_CERTIFICATE_BYTES * 4 // 3 + 4:
        raise DuisError(where, f"the certificate is larger than {MAX_CERTIFICATE_BYTES:,} bytes")
    try:
        der = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise DuisError(where, "the certificate is not base64") from None
    try:
        cert = x509.load_der_x509_certificate(der)
        subject = cert.subject
        ous = subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        uids = subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)
        serial = cert.serial_number
    except Exception as e:
        # Only cryptography's decoding of untrusted bytes runs above, and it signals malformed input with
        # no one class (ValueError, TypeError for a BIT STRING under another OID, InvalidVersion, ...):
        # whatever it raises, this certificate cannot be read.
        raise DuisError(where, f"the certificate cannot be decoded as X.509 DER: {e}") from None
    if len(ous) != 1:
        raise DuisError(where, f"the certificate's subject has {len(ous)} OU attributes; an Organisation Certificate has one, its role code")
    code_text = str(ous[0].value)
    if not ROLE_CODE.fullmatch(code_text):  # int(x, 16) alone would take `+3`, `0_3` and non-ASCII digits
        raise DuisError(where, f"the certificate's subject OU `{code_text[:40]}` is not a GBCS role code (two hex digits)")
    code = int(code_text, 16)
    if code not in ROLE_CODES:
        what = f" ({OTHER_CODES[code]})" if code in OTHER_CODES else ""
        raise DuisError(where, f"the certificate's role code {code_text}{what} is not a Remote Party role a device holds "
                        f"a trust anchor for ({', '.join(f'{c:02X} {r}' for c, r in ROLE_CODES.items())})")
    if len(uids) != 1:
        raise DuisError(where, "the certificate's subject has no x500UniqueIdentifier naming its owner" if not uids
                        else "the certificate's subject has more than one x500UniqueIdentifier")
    value = uids[0].value  # cryptography gives a BIT STRING's content: the unused-bits octet, then the bits
    if not isinstance(value, bytes) or len(value) != 9 or value[0] != 0:
        size = f"{max(len(value) - 1, 0)} octets" if isinstance(value, bytes) else "not a BIT STRING"
        raise DuisError(where, f"the certificate's x500UniqueIdentifier is {size}; an Entity Identifier is a BIT STRING of 8 octets")
    owner = "-".join(f"{b:02X}" for b in value[1:])
    return OrgCertificate(role_code=code, remote_party_role=ROLE_CODES[code], owner=owner, serial=serial)
