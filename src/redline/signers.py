"""Signing credentials: the key `"<issuer name>|<serial>"` that names a signing certificate.

A DUIS request's `ds:Signature` names its signer's certificate by issuer and
serial (`X509IssuerSerial`); STATE.json's `signing_certificates` maps that
pair to a party and User Role. Both sides are normalised to one spelling so
that `CN=U1, OU=07|1234567890` and `cn=U1,OU=07|01234567890` are the same key:

- the issuer is an RFC 4514 string, RDNs in the order written (most specific
  first, as in `X509IssuerName`); spaces around `,`, `+` and `=` are dropped,
  attribute types are upper-cased (or named, for the OIDs RFC 4514 names),
  and values are re-escaped, all as `cryptography`'s RFC 4514 reader and
  writer do (written out here, see `rfc4514`; standard library only, because
  every generated validator carries this file's text);
- the serial is the certificate's serial number in decimal (`xs:integer`,
  as in `X509SerialNumber`), without leading zeros.
"""

from __future__ import annotations

import binascii
import re
import sys
from functools import lru_cache

_SPLIT_RDN = re.compile(r"(?<!\\)([,+])")
MAX_SERIAL_DIGITS = 50  # an X.509 serial is at most 20 octets: 49 decimal digits

# RFC 4514 as the `cryptography` package reads and writes it (x509.Name.from_rfc4514_string,
# then rfc4514_string), written out in the standard library so that the generated validator
# (which holds this file's text from `_SPLIT_RDN` on: codegen/module.py) refuses and
# normalises exactly the same names, and so
# that no name reaches a parser that can panic (cryptography 50 does, on an OID arc near 2**128).
# tests/test_signers.py holds it to cryptography.
_OID_RE = re.compile(r"(0|([1-9]\d*))(\.(0|([1-9]\d*)))+")
_DESCR_RE = re.compile(r"[a-zA-Z][a-zA-Z\d-]*")
_ESCAPE_SPECIAL = r"[\\ #=\"\+,;<>]"
_ESCAPE_HEX = r"[\da-zA-Z]{2}"
_PAIR = rf"\\({_ESCAPE_SPECIAL}|{_ESCAPE_HEX})"
_PAIR_MULTI_RE = re.compile(rf"(\\{_ESCAPE_SPECIAL})|((\\{_ESCAPE_HEX})+)")
_UTFMB = rf"[\x80-{chr(sys.maxunicode)}]"
_LEADCHAR = rf"[\x01-\x1f\x21\x24-\x2A\x2D-\x3A\x3D\x3F-\x5B\x5D-\x7F]|{_UTFMB}"
_STRINGCHAR = rf"[\x01-\x21\x23-\x2A\x2D-\x3A\x3D\x3F-\x5B\x5D-\x7F]|{_UTFMB}"
_TRAILCHAR = rf"[\x01-\x1F\x21\x23-\x2A\x2D-\x3A\x3D\x3F-\x5B\x5D-\x7F]|{_UTFMB}"
_STRING_RE = re.compile(rf"(({_LEADCHAR}|{_PAIR})((({_STRINGCHAR}|{_PAIR})*)({_TRAILCHAR}|{_PAIR}))?)?")
_HEXSTRING_RE = re.compile(r"#([\da-zA-Z]{2})+")
_OID_NAMES = {  # the short names RFC 4514 gives, by OID
    "2.5.4.3": "CN", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C",
    "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
}
_NAME_OIDS = {v: k for k, v in _OID_NAMES.items()}
# UTF-8 length limits: commonName, countryName, jurisdictionCountryName.
_LENGTH_LIMITS = {"2.5.4.3": (1, 64), "2.5.4.6": (2, 2), "1.3.6.1.4.1.311.60.2.1.3": (2, 2)}
MAX_OID_BYTES = 63  # the DER length of an OID's content that cryptography accepts


def _valid_oid(dotted: str) -> bool:
    """A dotted OID cryptography would accept: first arc 0-2 (and then under 40 unless 2), each
    sub-identifier under 2**128, at most 63 bytes encoded. ASCII digits only (`\\d` takes any digit)."""
    arcs = dotted.split(".")
    if not all(a.isascii() and a.isdigit() for a in arcs):
        return False
    first, second, rest = int(arcs[0]), int(arcs[1]), [int(a) for a in arcs[2:]]
    if first > 2 or (first < 2 and second >= 40):
        return False
    subids = [40 * first + second, *rest]
    if any(n >= 1 << 128 for n in subids):
        return False
    return sum(max(1, -(-n.bit_length() // 7)) for n in subids) <= MAX_OID_BYTES


def _unescape(val: str) -> str:
    def sub(m: re.Match[str]) -> str:
        pair = m.group(0)
        return pair[1:] if len(pair) == 2 else binascii.unhexlify(pair.replace("\\", "")).decode()

    return _PAIR_MULTI_RE.sub(sub, val)


def _escape(val: str) -> str:
    if not val:
        return ""
    for ch in ("\\", '"', "+", ",", ";", "<", ">"):
        val = val.replace(ch, "\\" + ch)
    val = val.replace("\0", "\\00")
    if val[0] == "#" or (val[0] == " " and len(val) > 1):
        val = "\\" + val
    if val[-1] == " ":
        val = val[:-1] + "\\ "
    return val


def rfc4514(data: str) -> str:
    """An RFC 4514 name read and written again, RDNs in the order given; ValueError if it is not one."""
    pos = 0

    def read(pat: re.Pattern[str]) -> str:
        nonlocal pos
        m = pat.match(data, pos)
        if m is None:
            raise ValueError
        pos = m.end()
        return m.group()

    def attribute() -> tuple[str, str]:
        nonlocal pos
        if (m := _OID_RE.match(data, pos)) is not None:
            oid = m.group()
            if not _valid_oid(oid):
                raise ValueError
            pos = m.end()
        else:
            oid = _NAME_OIDS.get(read(_DESCR_RE), "")
            if not oid:
                raise ValueError
        if data[pos:pos + 1] != "=":
            raise ValueError
        pos += 1
        if data[pos:pos + 1] == "#":
            value = binascii.unhexlify(read(_HEXSTRING_RE)[1:]).decode()
        else:
            value = _unescape(read(_STRING_RE))
        limits = _LENGTH_LIMITS.get(oid)
        if limits is not None and not limits[0] <= len(value.encode("utf8")) <= limits[1]:
            raise ValueError
        return oid, value

    def rdn() -> list[tuple[str, str]]:
        nonlocal pos
        out = [attribute()]
        while data[pos:pos + 1] == "+":
            pos += 1
            out.append(attribute())
        if len(set(out)) != len(out):
            raise ValueError("duplicate attributes are not allowed")
        return out

    if not data:
        return ""
    rdns = [rdn()]
    while pos < len(data):
        if data[pos] != ",":
            raise ValueError
        pos += 1
        rdns.append(rdn())
    return ",".join("+".join(f"{_OID_NAMES.get(oid, oid)}={_escape(value)}" for oid, value in rdn) for rdn in rdns)


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
        return rfc4514("".join(cleaned))
    except ValueError:
        raise ValueError(f"`{text}` is not an RFC 4514 distinguished name such as `CN=U1,OU=07`") from None


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
