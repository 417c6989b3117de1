"""Decode a Z3 model into the docs/formats.md records: STATE.json, REQUEST.json.

Only models of the bounded encoding are decoded: their Registration Data is
a finite list of assignments, so every model is a real state. Party ids and
MPxNs are the model's integers, renamed in order of first appearance.
"""

from __future__ import annotations

from typing import Any

import z3

from redline.smt.properties import Binding, PropertyCompiler
from redline.smt.symbolic import Sorts, SymRequest, SymState
from redline.times import format_iso

DEVICE_ID = "00-DB-12-34-56-78-90-A0"


class Decoder:
    def __init__(self, model: z3.ModelRef, sorts: Sorts) -> None:
        self.m, self.sorts = model, sorts
        self.party_ids: dict[int, str] = {}
        self.mpxns: dict[int, str] = {}

    def _eval(self, t: Any) -> Any:
        return self.m.eval(t, model_completion=True)

    def _true(self, t: Any) -> bool:
        return bool(z3.is_true(self._eval(t)))

    def party(self, t: Any) -> str:
        n = self._eval(t).as_long()
        if n not in self.party_ids:
            i = len(self.party_ids) + 1
            self.party_ids[n] = f"90-B3-D5-1F-30-{i:02X}-00-00"
        return self.party_ids[n]

    def mpxn(self, t: Any) -> str:
        n = self._eval(t).as_long()
        if n not in self.mpxns:
            self.mpxns[n] = f"19{len(self.mpxns) + 1:011d}"
        return self.mpxns[n]

    def enum(self, t: Any) -> str:
        return str(self._eval(t))

    def time(self, t: Any) -> str:
        return format_iso(self._eval(t).as_long())

    def request(self, st: SymState, r: SymRequest) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sender": self.party(r.sender), "role": self.enum(r.role),
            "srv": self.sorts.decode("Srv", self._eval(r.srv)),
            "device": DEVICE_ID if self._true(st.in_smi) else None,
        }
        if self._true(r.has_rpr):
            out["remote_party_role"] = self.enum(r.rpr)
            out["new_certificate_owner"] = self.party(r.owner)
        out["execution_time"] = self.time(r.exec_time) if self._true(r.has_exec) else None
        out["date_range"] = {"from": self.time(r.lo), "to": self.time(r.hi)} if self._true(r.has_range) else None
        return out

    def state(self, st: SymState) -> dict[str, Any]:
        devices: dict[str, Any] = {}
        if self._true(st.in_smi):
            anchors = {}
            for name, cell in self.sorts.members_of("cell").items():
                if self._true(st.anchor_set(cell)):
                    anchors[name] = self.party(st.anchor_owner(cell))
            devices[DEVICE_ID] = {
                "type": self.enum(st.device_type), "generation": self.enum(st.generation),
                "smi_status": self.enum(st.smi_status), "mpxn": self.mpxn(st.mpxn), "trust_anchors": anchors,
            }
        registration: dict[str, list[dict[str, Any]]] = {}
        for a in st.assignments or []:
            if self._true(a.used):
                registration.setdefault(self.mpxn(a.mpxn), []).append({
                    "role": self.enum(a.role), "party": self.party(a.party), "from": self.time(a.start),
                    "to": None if self._true(a.open_ended) else self.time(a.end),
                })
        parties = {}
        for n, pid in sorted(self.party_ids.items(), key=lambda kv: kv[1]):
            num = z3.IntVal(n, ctx=self.sorts.ctx)
            parties[pid] = {
                "roles": [r for r, c in self.sorts.members_of("role").items() if self._true(st.has_role(num, c))],
                "dcc_user": self._true(st.dcc_user(num)),
            }
        return {"now": self.time(st.now), "parties": parties, "devices": devices, "registration": registration}


def decode(model: z3.ModelRef, comp: PropertyCompiler, binders: list[Binding]) -> dict[str, Any]:
    """The outer binders as records: each State as STATE.json, each Request as REQUEST.json, each Party as its id."""
    d = Decoder(model, comp.sorts)
    states = [b for b in binders if b.kind == "State"]
    st0 = states[0].value if states else None
    out: dict[str, Any] = {"requests": {}, "parties": {}, "values": {}}
    for b in binders:  # parties and requests first, so ids are numbered in binder order
        if b.kind == "Party":
            out["parties"][b.name] = d.party(b.value)
        elif b.kind == "Request" and st0 is not None:
            out["requests"][b.name] = d.request(st0, b.value)
        elif b.kind != "State":
            out["values"][b.name] = d.enum(b.value)
    # Last, so that a state lists every party the records above name.
    out["states"] = {b.name: d.state(b.value) for b in states}
    return out
