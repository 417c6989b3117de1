#!/usr/bin/env python3
"""Benchmark: batch validation of DUIS XML requests, parsing and certificate decoding included.

What is measured: `redline validate --ruleset mp107 --state STATE.json DIR`
run in-process (`redline.cli.main`) over a directory of DUIS XML requests,
with its JSON Lines written to /dev/null. Each request is read from disk,
sniffed, parsed by the hardened parser (defusedxml), mapped (header, body,
times, the signer's role from the state's `signing_certificates`), its
replacement certificates decoded with `cryptography` (nothing is cached
between requests), loaded and checked like REQUEST.json, validated, and its
verdict serialised. Only the checking of the rule files is outside the
timing (it is the same for one request or a million; bench/validate.py
times it).

The requests are generated from a fixed seed: a fifth are 6.15.1 with two
replacement certificates each, a tenth 6.23 with three, and the rest
Non-Critical reads with a ReadLogPeriod, future-dated Critical tariff
updates, and Non-Device requests, from 50 senders onto 2,000 devices,
with a few unknown devices among them (E19). The target is 2,000
requests/s on one core. The work is single-threaded, so the process's CPU
time is the time it held one core: the figure checked against the target is
requests per CPU-second, median of 5 runs; the wall-clock rate is printed
beside it, and is the same on an idle machine but lower on a shared one.

Usage:

    .venv/bin/python bench/duis.py            # 5,000 requests; exit 1 if under 2,000 requests per CPU-second
    .venv/bin/python bench/duis.py --quick    # 500 requests, a smoke run; never fails on speed
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from redline import cli, loading

SEED = 20260301
RUNS = 5
TARGET = 2_000
SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
ISSUER = "CN=Bench Issuing CA, OU=07"


def party(i: int) -> str:
    return f"90-B3-D5-1F-30-{i // 256:02X}-{i % 256:02X}-00"


def device(i: int) -> str:
    return f"00-DB-12-34-{i // 65536:02X}-{(i // 256) % 256:02X}-{i % 256:02X}-A0"


def make_cert(key: ec.EllipticCurvePrivateKey, role_code: str, owner: str) -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role_code),
                         x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\0" + bytes.fromhex(owner.replace("-", "")),
                                            _ASN1Type.BitString)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench Issuing CA"),
                        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "07")])
    start = datetime.datetime(2025, 9, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=3650)).sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def request_xml(rid: str, cv: int, sref: str, srv: str, body: str, serial: int) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="{SR}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>{rid}</sr:RequestID>
    <sr:CommandVariant>{cv}</sr:CommandVariant>
    <sr:ServiceReference>{sref}</sr:ServiceReference>
    <sr:ServiceReferenceVariant>{srv}</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body>
{body}
  </sr:Body>
  <ds:Signature>
    <ds:SignedInfo/>
    <ds:SignatureValue>cGxhY2Vob2xkZXI=</ds:SignatureValue>
    <ds:KeyInfo><ds:X509Data><ds:X509IssuerSerial>
      <ds:X509IssuerName>{ISSUER}</ds:X509IssuerName>
      <ds:X509SerialNumber>{serial}</ds:X509SerialNumber>
    </ds:X509IssuerSerial></ds:X509Data></ds:KeyInfo>
  </ds:Signature>
</sr:Request>
"""


def generate(root: Path, n: int) -> Path:
    """Write STATE.json and n requests under root; return the requests' directory."""
    rng = random.Random(SEED)
    key = ec.generate_private_key(ec.SECP256R1())
    suppliers = [party(i) for i in range(1, 41)]
    nos = [party(i) for i in range(41, 51)]
    devices = [device(i) for i in range(2000)]
    sup_certs = {p: make_cert(key, "02", p) for p in suppliers}
    no_certs = {p: make_cert(key, "03", p) for p in nos}
    state: dict[str, Any] = {
        "now": "2026-03-01T12:00:00Z",
        "parties": {p: {"roles": ["IS", "GS"], "dcc_user": True} for p in suppliers} | {p: {"roles": ["ED"], "dcc_user": True} for p in nos},
        "devices": {}, "registration": {}, "signing_certificates": {},
    }
    owner: dict[str, tuple[str, str]] = {}
    for i, d in enumerate(devices):
        sup, no = suppliers[i % len(suppliers)], nos[i % len(nos)]
        owner[d] = (sup, no)
        mpxn = f"19{i:011d}"
        state["devices"][d] = {"type": "ESME", "generation": "SMETS1" if i % 3 == 0 else "SMETS2",
                               "smi_status": "Commissioned", "mpxn": mpxn,
                               "trust_anchors": {"Supplier": sup, "NetworkOperator": no}}
        state["registration"][mpxn] = [{"role": "IS", "party": sup, "from": "2020-01-01T00:00:00Z", "to": None},
                                       {"role": "ED", "party": no, "from": "2015-01-01T00:00:00Z", "to": None}]
    serial_of = {p: 1000 + i for i, p in enumerate(suppliers + nos)}
    for p, s in serial_of.items():
        state["signing_certificates"][f"{ISSUER}|{s}"] = {"party": p, "role": "ED" if p in nos else "IS"}
    (root / "state.json").write_text(json.dumps(state))
    out = root / "requests"
    out.mkdir()
    for k in range(n):
        d = rng.choice(devices) if rng.random() > 0.02 else device(60_000 + k)
        sup, no = owner.get(d, (rng.choice(suppliers), rng.choice(nos)))
        kind = rng.random()
        if kind < 0.2:  # 6.15.1 by the NO or the Supplier, replacing its own cell
            by_no = rng.random() < 0.5
            sender, new = (no, rng.choice(nos)) if by_no else (sup, rng.choice(suppliers))
            cert = (no_certs if by_no else sup_certs)[new]
            body = (f"    <sr:UpdateSecurityCredentialsKRP><sr:RemotePartyRole>{'NetworkOperator' if by_no else 'Supplier'}</sr:RemotePartyRole>"
                    f"<sr:RemotePartyFloorSeqNumber>0</sr:RemotePartyFloorSeqNumber><sr:ReplacementCertificates>"
                    f"<sr:SupplierOrNetworkOperatorCertificates><sr:DigitalSigningCertificate>{cert}</sr:DigitalSigningCertificate>"
                    f"<sr:KeyAgreementCertificate>{cert}</sr:KeyAgreementCertificate></sr:SupplierOrNetworkOperatorCertificates>"
                    f"</sr:ReplacementCertificates></sr:UpdateSecurityCredentialsKRP>")
            xml = request_xml(f"{sender}:{d}:{k}", 4, "6.15", "6.15.1", body, serial_of[sender])
        elif kind < 0.3:  # 6.23 from an incoming Supplier
            sender = rng.choice(suppliers)
            cert = sup_certs[sender]
            body = (f"    <sr:UpdateSecurityCredentialsCoS><sr:ExecutionDateTime>2026-03-02T00:00:00.00Z</sr:ExecutionDateTime>"
                    f"<sr:SupplierReplacementCertificates><sr:DigitalSigningCertificate>{cert}</sr:DigitalSigningCertificate>"
                    f"<sr:KeyAgreementCertificate>{cert}</sr:KeyAgreementCertificate><sr:KeyAgreementTopUpCertificate>{cert}"
                    f"</sr:KeyAgreementTopUpCertificate></sr:SupplierReplacementCertificates></sr:UpdateSecurityCredentialsCoS>")
            xml = request_xml(f"{sender}:{d}:{k}", 1, "6.23", "6.23", body, serial_of[sender])
        elif kind < 0.6:  # a read with a log period
            sender = sup if rng.random() < 0.9 else rng.choice(suppliers)
            body = ("    <sr:ReadEventOrSecurityLog><sr:LogType>Event</sr:LogType><sr:ReadLogPeriod>"
                    "<sr:StartDateTime>2026-02-01T00:00:00.00Z</sr:StartDateTime><sr:EndDateTime>2026-02-28T00:00:00.00Z</sr:EndDateTime>"
                    "</sr:ReadLogPeriod></sr:ReadEventOrSecurityLog>")
            xml = request_xml(f"{sender}:{d}:{k}", 1, "6.13", "6.13", body, serial_of[sender])
        elif kind < 0.9:  # a future-dated Critical tariff update
            sender = sup
            body = ("    <sr:UpdateImportTariffPrimaryElement><sr:ExecutionDateTime>2026-04-01T00:00:00Z</sr:ExecutionDateTime>"
                    "<sr:ElecTariffElements><sr:CurrencyUnits>GBP</sr:CurrencyUnits></sr:ElecTariffElements>"
                    "</sr:UpdateImportTariffPrimaryElement>")
            xml = request_xml(f"{sender}:{d}:{k}", 4, "1.1", "1.1.1", body, serial_of[sender])
        else:  # Non-Device: decommission
            sender = sup
            body = f"    <sr:DecommissionDevice><sr:DeviceID>{d}</sr:DeviceID></sr:DecommissionDevice>"
            xml = request_xml(f"{sender}:90-B3-D5-1F-30-00-00-02:{k}", 8, "8.3", "8.3", body, serial_of[sender])
        (out / f"{k:06d}.xml").write_text(xml)
    return out


def run_batch(state: Path, requests: Path) -> tuple[int, str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["validate", "--ruleset", "mp107", "--state", str(state), str(requests)])
    return code, buf.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="500 requests, a smoke run; never fails on speed")
    args = parser.parse_args(argv)
    n = 500 if args.quick else 5_000
    program, diags = loading.load_program(loading.repo_rules(), [])
    assert program is not None, diags
    cli.load_program = lambda rules, extra: (program, [])  # type: ignore[assignment]  # rules checked once, outside the timing
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"redline DUIS benchmark: {n:,} DUIS XML requests, seed {SEED}, Python {sys.version.split()[0]}, pid {os.getpid()}")
        requests = generate(root, n)
        code, out = run_batch(root / "state.json", requests)  # warm-up, and the mix
        records = [json.loads(line) for line in out.splitlines()]
        errors = [r["error"] for r in records if "error" in r]
        if code != 0 or errors or len(records) != n:
            print(f"bench/duis.py: the batch did not run cleanly (exit {code}, {len(errors)} errors): {errors[:3]}", file=sys.stderr)
            return 2
        mix = Counter((r["request"]["srv"], r["verdict"] if r["verdict"] == "accept" else f"reject {r['code'] or r['layer']}") for r in records)
        print("mix: " + ", ".join(f"{srv} {v}: {c}" for (srv, v), c in sorted(mix.items())))
        walls, cpus = [], []
        for _ in range(RUNS):
            start, cpu = time.perf_counter(), time.process_time()
            run_batch(root / "state.json", requests)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
    wall_rate, cpu_rate = n / statistics.median(walls), n / statistics.median(cpus)
    print(f"runs, wall (s): {', '.join(f'{t:.3f}' for t in walls)}")
    print(f"runs, CPU (s):  {', '.join(f'{t:.3f}' for t in cpus)}")
    print(f"DUIS batch validation (read, parse, map, decode certificates, validate, JSON Lines), median of {RUNS}:")
    print(f"  {cpu_rate:,.0f} requests/s of one core's CPU time (target {TARGET:,})")
    print(f"  {wall_rate:,.0f} requests/s wall clock (lower when other processes share the core)")
    if args.quick:
        return 0
    return 0 if cpu_rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
