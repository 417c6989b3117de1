"""Decode a Z3 model into the docs/formats.md records: STATE.json, REQUEST.json.

Only models of the bounded encoding are decoded: their Registration Data is
a finite list of assignments, so every model is a real state. Party ids and
MPxNs are the model's integers, renamed in order of first appearance.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

import z3

from redline.check.propir import Prim
from redline.check.types import BOOL, DATERANGE, MPXN, TIME, EnumT, MapT, OptT, RecordT, SetT, Type, strip
from redline.jsondoc import JsonObject
from redline.smt.declared import Slot
from redline.smt.properties import Binding, PropertyCompiler
from redline.smt.symbolic import Sorts, SymRequest, SymState
from redline.times import format_iso

DEVICE_ID = "00-DB-12-34-56-78-90-A0"


class Decoder:
    def __init__(self, model: z3.ModelRef, sorts: Sorts) -> None:
        self.m, self.sorts = model, sorts
        self.party_ids: dict[int, str] = {}
        self.mpxns: dict[int, str] = {}
        self.device_ids: dict[int, str] = {}  # devices other than the request's, named by declared references
        self.texts: dict[int, str] = {}
        self.own_device: int | None = None  # the request's device, where it is in the SMI

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

    def device(self, t: Any) -> str:
        n = self._eval(t).as_long()
        if n == self.own_device:
            return DEVICE_ID
        if n not in self.device_ids:
            self.device_ids[n] = f"00-DB-12-34-56-78-91-{len(self.device_ids) + 1:02X}"
        return self.device_ids[n]

    def own(self, st: SymState) -> None:
        """Note the request's own device (numbered first): a bound Device equal to it then decodes to its id."""
        if self.own_device is None and self._true(st.in_smi):
            self.own_device = self._eval(st.device_id).as_long()

    def value(self, t: Type, v: Any) -> Any:
        """The JSON of a declared field's value (smt/declared.py slot terms)."""
        base = strip(t)
        if base == BOOL:
            return self._true(v)
        if isinstance(base, EnumT):
            return self.enum(v)
        if isinstance(base, SetT):
            return [m for m, c in self.sorts.members[base.elem.name].items() if self._true(v(c))]
        if base == DATERANGE:
            return {"from": self.time(v[0]), "to": self.time(v[1])}
        if base == TIME:
            return self.time(v)
        if base == RecordT("Party"):
            return self.party(v)
        if base == RecordT("Device"):
            return self.device(v)
        if base == MPXN:
            return self.mpxn(v)
        n = self._eval(v).as_long()
        return self.texts.setdefault(n, f"text {len(self.texts) + 1}")

    def declared(self, slots: dict[str, Slot], record: str, arg: Any = None) -> JsonObject:
        """Every declared field of `record`, so that any rule set that reads one finds it given."""
        out: JsonObject = {}
        for name, t in sorted(self.sorts.declared.get(record, {}).items()):
            s = slots.get(name)
            if s is None:
                out[name] = self.default(t)
            elif not self._true(s.has(arg)):
                out[name] = None
            else:
                out[name] = self.value(t, s.value(arg))
        return out

    def default(self, t: Type) -> Any:
        """A value for a field no encoding term stands for (the rules cannot read it there)."""
        if isinstance(t, OptT):
            return None
        if t == BOOL:
            return False
        if isinstance(t, EnumT):
            return self.sorts.enums[t.name].constructor(0).name()
        if isinstance(t, SetT | MapT):
            return [] if isinstance(t, SetT) else {}
        if t == TIME:
            return format_iso(0)
        if t == DATERANGE:
            return {"from": format_iso(0), "to": format_iso(0)}
        if t == RecordT("Party"):
            return next(iter(self.party_ids.values()))
        if t == RecordT("Device"):
            return DEVICE_ID if self.own_device is not None else next(iter(self.device_ids.values()))
        return "text"

    def request(self, st: SymState, r: SymRequest) -> JsonObject:
        self.own(st)
        out: JsonObject = {
            "sender": self.party(r.sender), "role": self.enum(r.role),
            "srv": self.sorts.decode("Srv", self._eval(r.srv)),
            "device": DEVICE_ID if self._true(st.in_smi) else None,
        }
        if self._true(r.has_rpr):
            out["remote_party_role"] = self.enum(r.rpr)
            out["new_certificate_owner"] = self.party(r.owner)
        out["execution_time"] = self.time(r.exec_time) if self._true(r.has_exec) else None
        out["date_range"] = {"from": self.time(r.lo), "to": self.time(r.hi)} if self._true(r.has_range) else None
        out.update(self.declared(r.ext, "Request"))
        return out

    def state(self, st: SymState) -> JsonObject:
        self.own(st)
        devices: JsonObject = {}
        if self._true(st.in_smi):
            anchors = {}
            for name, cell in self.sorts.members_of("cell").items():
                if self._true(st.anchor_set(cell)):
                    anchors[name] = self.party(st.anchor_owner(cell))
            devices[DEVICE_ID] = {
                "type": self.enum(st.device_type), "generation": self.enum(st.generation),
                "smi_status": self.enum(st.smi_status), "mpxn": self.mpxn(st.mpxn), "trust_anchors": anchors,
                **self.declared(st.device_ext, "Device"),
            }
        registration: dict[str, list[JsonObject]] = {}
        for a in st.assignments or []:
            if self._true(a.used):
                registration.setdefault(self.mpxn(a.mpxn), []).append({
                    "role": self.enum(a.role), "party": self.party(a.party), "from": self.time(a.start),
                    "to": None if self._true(a.open_ended) else self.time(a.end),
                })
        parties: JsonObject = {}
        while True:  # a declared field's value can name another party or device, which is listed in turn
            todo = [(n, pid) for n, pid in self.party_ids.items() if pid not in parties]
            todo_dev = [(n, did) for n, did in self.device_ids.items() if did not in devices]
            if not todo and not todo_dev:
                break
            for n, pid in todo:
                num = z3.IntVal(n, ctx=self.sorts.ctx)
                parties[pid] = {
                    "roles": [r for r, c in self.sorts.members_of("role").items() if self._true(st.has_role(num, c))],
                    "dcc_user": self._true(st.dcc_user(num)),
                    **self.declared(st.party_ext, "Party", num),
                }
            for _, did in todo_dev:  # only its relations are encoded: the rest is any well-formed device
                devices[did] = {
                    "type": self.default(EnumT(self.sorts.vocab.device_type)),
                    "generation": self.default(EnumT(self.sorts.vocab.generation)),
                    "smi_status": self.default(EnumT(self.sorts.vocab.smi_status)), "mpxn": f"29{len(devices):011d}", "trust_anchors": {},
                    **{name: self.default(t) for name, t in sorted(self.sorts.declared.get("Device", {}).items())},
                }
        out = {"now": self.time(st.now), "parties": dict(sorted(parties.items())), "devices": devices, "registration": registration}
        if self.sorts.relations:
            out["relations"] = self.relations(st)
        return out

    def relations(self, st: SymState) -> dict[str, list[list[str]]]:
        """Each declared relation's tuples among the parties and devices the records name."""
        ids: dict[str, list[tuple[int, str]]] = {"Party": sorted(self.party_ids.items()), "Device": sorted(self.device_ids.items())}
        if self.own_device is not None:
            ids["Device"].insert(0, (self.own_device, DEVICE_ID))
        out: dict[str, list[list[str]]] = {}
        for name, kinds in sorted(self.sorts.relations.items()):
            tuples = []
            for combo in product(*(ids[k] for k in kinds)):
                args = [z3.IntVal(n, ctx=self.sorts.ctx) for n, _ in combo]
                if self._true(st.relations[name](*args)):
                    tuples.append([i for _, i in combo])
            out[name] = tuples
        return out


@dataclass(frozen=True)
class Records:
    """A model's outer binders, by binder name: each State as STATE.json, each Request as REQUEST.json,
    each Party as its id, each enum value as its name."""
    states: dict[str, JsonObject]
    requests: dict[str, JsonObject]
    parties: dict[str, str]
    values: dict[str, str]


def decode(model: z3.ModelRef, comp: PropertyCompiler, binders: list[Binding]) -> Records:
    """The outer binders as records."""
    d = Decoder(model, comp.sorts)
    states = [b for b in binders if b.sort is Prim.STATE]
    st0 = states[0].value if states else None
    requests: dict[str, JsonObject] = {}
    parties: dict[str, str] = {}
    values: dict[str, str] = {}
    if st0 is not None:
        d.own(st0)  # a bound Device that is the request's device gets its id
    for b in binders:  # parties and requests first, so ids are numbered in binder order
        if b.sort is Prim.PARTY:
            parties[b.name] = d.party(b.value)
        elif b.sort is Prim.REQUEST and st0 is not None:
            requests[b.name] = d.request(st0, b.value)
        elif b.sort is Prim.DEVICE:  # listed in the state in turn, as a device a declared field names
            values[b.name] = d.device(b.value)
        elif b.sort is not Prim.STATE:
            values[b.name] = d.enum(b.value)
    # Last, so that a state lists every party the records above name.
    return Records({b.name: d.state(b.value) for b in states}, requests, parties, values)
