"""CONTRACTS.md's example STATE.json and REQUEST.json, as written there, with its party and device ids: the
world tests/test_unlisted_parties.py judges everywhere (and checks against the file itself) and
tests/test_impact_types.py loads."""

from __future__ import annotations

from typing import Any

SUPPLIER, NO, NEW_OWNER = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00", "90-B3-D5-1F-30-03-00-00"
FORMER, STRANGER = "90-B3-D5-1F-30-07-00-00", "90-B3-D5-1F-30-09-00-00"  # never listed in `parties`
METER, MPXN = "00-DB-12-34-56-78-90-A0", "1900000000001"

# CONTRACTS.md's STATE.json and REQUEST.json, as written there (the test below reads them from the file itself).
STATE: dict[str, Any] = {
    "now": "2026-03-01T12:00:00Z",
    "parties": {SUPPLIER: {"roles": ["IS", "GS"], "dcc_user": True}, NO: {"roles": ["ED"], "dcc_user": True}},
    "devices": {METER: {"type": "ESME", "generation": "SMETS1", "smi_status": "Commissioned", "mpxn": MPXN,
                        "trust_anchors": {"Supplier": SUPPLIER, "NetworkOperator": NO}}},
    "registration": {MPXN: [{"role": "IS", "party": SUPPLIER, "from": "2020-01-01T00:00:00Z", "to": None},
                            {"role": "ED", "party": NO, "from": "2015-01-01T00:00:00Z", "to": None}]},
}
REQUEST: dict[str, Any] = {"sender": NO, "role": "ED", "srv": "6.15.1", "device": METER,
                           "remote_party_role": "NetworkOperator", "new_certificate_owner": NEW_OWNER,
                           "execution_time": None, "date_range": None}
