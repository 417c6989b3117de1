"""The interpreter's loaded values as the encoder's concrete input (for replaying verdicts in Z3)."""

from __future__ import annotations

from redline.interp import effects
from redline.interp.validate import Verdict
from redline.interp.values import Request, State
from redline.smt.concrete import ConcreteDevice, ConcreteInput


def concrete(state: State, req: Request) -> ConcreteInput:
    dev = state.devices.get(req.device) if req.device else None
    return ConcreteInput(
        now=state.now,
        parties={pid: (p.roles, p.dcc_user) for pid, p in state.parties.items()},
        device=ConcreteDevice(dev.type, dev.generation, dev.smi_status, dev.mpxn or "", dict(dev.trust_anchors)) if dev else None,
        registration=[(m, r, a.party, a.start, a.end) for (m, r), items in state.registration.items() for a in items],
        sender=req.sender, role=req.role, srv=req.srv, remote_party_role=req.remote_party_role,
        new_certificate_owner=req.new_certificate_owner, execution_time=req.execution_time, date_range=req.date_range,
        device_id=req.device, device_ext=dict(dev.ext) if dev else {},
        party_ext={pid: dict(p.ext) for pid, p in state.parties.items() if p.ext},
        request_ext=dict(req.ext), relations=dict(state.relations),
    )


def anchors_after(x: ConcreteInput, verdict: Verdict) -> dict[str, str]:
    """The device's trust anchors once the verdict's effects apply."""
    return effects.anchors_after(x.device.trust_anchors if x.device else {}, ((cell, owner) for _, cell, owner in verdict.effects))
