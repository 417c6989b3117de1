"""Signing credentials: the key `"<issuer name>|<serial>"` that names a signing certificate.

A DUIS request's `ds:Signature` names its signer's certificate by issuer and
serial (`X509IssuerSerial`); STATE.json's `signing_certificates` maps that
pair to a party and User Role. Both sides are normalised to one spelling so
that `CN=U1, OU=07|1234567890` and `cn=U1,OU=07|01234567890` are the same key:

- the issuer is an RFC 4514 string, RDNs in the order written (most specific
  first, as in `X509IssuerName`); spaces around `,`, `+` and `=` are dropped,
  attribute types are upper-cased (or named, for the OIDs `cryptography`
  knows), and values are re-escaped by `cryptography`'s RFC 4514 writer;
- the serial is the certificate's serial number in decimal (`xs:integer`,
  as in `X509SerialNumber`), without leading zeros.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cryptography import x509

_SPLIT_RDN = re.compile(r"(?<!\\)([,+])")
MAX_SERIAL_DIGITS = 50  # an X.509 serial is at most 20 octets: 49 decimal digits


@lru_cache(maxsize=4096)
def normalise_issuer(text: str) -> str:
    """The canonical RFC 4514 spelling of an issuer name; ValueError if it is not one."""
    if not text.strip():
        raise ValueError("the issuer name is empty")
    parts = _SPLIT_RDN.split(text.strip())
    cleaned: list[str] = []
    for i, part in enumerate(parts):
        if i % 2:  # a separator
            cleaned.append(part)
            continue
        attr, eq, value = part.partition("=")
        if not eq or not attr.strip() or not value.strip():
            raise ValueError(f"`{part.strip()}` is not an attribute such as `CN=U1`")
        cleaned.append(f"{attr.strip().upper()}={value.strip()}")
    try:
        name = x509.Name.from_rfc4514_string("".join(cleaned))
    except ValueError:
        raise ValueError(f"`{text}` is not an RFC 4514 distinguished name such as `CN=U1,OU=07`") from None
    return name.rfc4514_string()


def normalise_serial(text: str) -> str:
    t = text.strip()
    if not t.isdigit() or not t.isascii():
        raise ValueError(f"the serial number `{text}` is not a decimal integer")
    if len(t) > MAX_SERIAL_DIGITS:
        raise ValueError(f"the serial number `{t[:20]}...` is longer than an X.509 serial can be")
    return str(int(t))


def signer_key(issuer: str, serial: str) -> str:
    """`"<issuer>|<serial>"` in canonical form; ValueError naming what is wrong."""
    return f"{normalise_issuer(issuer)}|{normalise_serial(serial)}"


def parse_signer_key(key: str) -> str:
    """A state's `"<issuer>|<serial>"` key in canonical form; the serial follows the last `|`."""
    issuer, bar, serial = key.rpartition("|")
    if not bar:
        raise ValueError(f"`{key}` is not of the form `<issuer name>|<serial>` such as `CN=U1,OU=07|1234567890`")
    return signer_key(issuer, serial)
