"""DUIS XML Service Requests in: parsed safely, mapped to REQUEST.json, credentials read.

`safexml` parses untrusted XML (no DTD, no entities, no external references,
bounded size); `certs` reads an Organisation Certificate's role code and
owner; `mapping` maps a request to REQUEST.json beside its DUIS facts, with
the sender's User Role from its signing credential (`redline.signers`).
"""

from redline.duis.certs import OrgCertificate, decode_certificate
from redline.duis.errors import DuisError
from redline.duis.mapping import Mapped, map_request
from redline.duis.safexml import DEFAULT_MAX_BYTES, parse_xml

__all__ = ["DEFAULT_MAX_BYTES", "DuisError", "Mapped", "OrgCertificate", "decode_certificate", "map_request", "parse_xml"]
