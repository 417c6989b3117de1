"""Property semantics: a property body compiled to Z3 and decided.

A body is `forall X . B` or `exists X . B`. The outermost binders become
free symbols; nested binders (over requests, parties and enums, never
states) become Z3 quantifiers. `forall` holds iff `not B` is unsatisfiable;
`exists` holds iff `B` is satisfiable.

Two encodings of Registration Data are used, each only where it is sound:
- *unbounded*: a predicate of (party, role, MPxN, instant), any timeline at
  all; `unsat` here is a proof over every state;
- *bounded*: at most K assignments (K = 1..3); every model is a real
  STATE.json, so `sat` here is a genuine counterexample or witness, but
  `unsat` proves nothing and is never reported as a proof.
A result the two cannot settle is `unknown`, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from redline import ast
from redline.check import checked as ir
from redline.smt.encode import Encoder, Opt, Outcome
from redline.smt.smt2 import smt2_text
from redline.smt.solver import new_solver
from redline.smt.symbolic import Sorts, SymRequest, SymState, bounded_state, well_formed
from redline.source import Span
from redline.times import SECOND

# Times a decoded model may use: 2000-01-01 .. 2100-01-01, so every model is a valid ISO time
# (in microseconds, like every time: redline.times).
T_MIN, T_MAX = 946684800 * SECOND, 4102444800 * SECOND
BOUNDS = (1, 2, 3)


class PropertyError(Exception):
    def __init__(self, message: str, span: Span) -> None:
        super().__init__(message)
        self.message, self.span = message, span


@dataclass(frozen=True)
class V:
    """A compiled value: `kind` is Bool, State, Request, Party, Srv, Set or an enum name."""

    kind: str
    term: Any  # BoolRef, Opt, SymState, SymRequest, or a frozenset of members for Set
    enum: str | None = None  # the element enum of a Set


@dataclass
class Binding:
    name: str
    kind: str
    value: Any  # SymState, SymRequest, ArithRef or enum const


@dataclass
class Decided:
    status: str  # proved | refuted | unknown
    reason: str | None
    mode: str | None  # which encoding settled it
    model: z3.ModelRef | None
    binders: list[Binding]
    compiler: PropertyCompiler | None
    solver_calls: int
    used: list[tuple[str, list[str]]] | None = None  # (clause, assumptions) of the rules an unbounded proof needed


class PropertyCompiler:
    """Compile one property body for one rule set (or a pair, when relational)."""

    def __init__(self, sorts: Sorts, program: ir.Program, rulesets: list[ir.RuleSet], bound: int | None,
                 selectors: bool = False) -> None:
        self.sorts, self.program, self.rulesets, self.bound = sorts, program, rulesets, bound
        self.encoders = [Encoder(sorts, rs) for rs in rulesets]
        if selectors:
            for i, enc in enumerate(self.encoders):
                enc.use_selectors(f"rs{i}_")
        self.catalogue = rulesets[0].catalogue
        self.constraints: list[z3.BoolRef] = []
        self.outcomes: dict[tuple[int, int, int], Outcome] = {}
        self.states: list[SymState] = []
        self.counter = 0
        self.ctx = sorts.ctx

    # -- binders --
    def fresh(self, kind: str, name: str, outer: bool) -> Binding:
        self.counter += 1
        tag = f"{name}_{self.counter}"
        if kind == "State":
            if not outer:
                raise PropertyError("a `State` may be bound only in the property's outermost quantifier", Span.none())
            st = bounded_state(self.sorts, tag, self.bound) if self.bound is not None else SymState.fresh(self.sorts, tag)
            self.constraints.extend(st.constraints)
            if self.bound is not None:  # decodable models: real times
                for t in [st.now, *(x for a in st.assignments or [] for x in (a.start, a.end))]:
                    self.constraints.append(z3.And(T_MIN <= t, t <= T_MAX))
            self.states.append(st)
            return Binding(name, kind, st)
        if kind == "Request":
            return Binding(name, kind, SymRequest.fresh(self.sorts, tag))
        if kind == "Party":
            return Binding(name, kind, z3.Int(tag, ctx=self.ctx))
        if kind in self.sorts.enums:
            return Binding(name, kind, z3.Const(tag, self.sorts.enums[kind]))
        raise PropertyError(f"unknown binder type `{kind}`; expected State, Request, Party or an enum", Span.none())

    def bind(self, binders: tuple[ast.Binder, ...], env: dict[str, Binding], outer: bool) -> list[Binding]:
        """Fresh symbols for a quantifier's binders, added to `env`."""
        out = []
        for b in binders:
            try:
                binding = self.fresh(b.type.name, b.name.name, outer=outer)
            except PropertyError as err:
                raise PropertyError(err.message, b.type.span) from None
            env[b.name.name] = binding
            out.append(binding)
        return out

    def request_vars(self, r: SymRequest) -> list[z3.ExprRef]:
        return [r.sender, r.role, r.srv, r.has_rpr, r.rpr, r.has_owner, r.owner, r.has_exec, r.exec_time, r.has_range, r.lo, r.hi]

    def outcome(self, which: int, s: SymState, r: SymRequest) -> Outcome:
        key = (which, id(s), id(r))
        if key not in self.outcomes:
            self.outcomes[key] = self.encoders[which].outcome(s, r)
        return self.outcomes[key]

    # -- the body --
    def compile(self, body: ast.Expr) -> tuple[str, list[Binding], z3.BoolRef]:
        if not isinstance(body, ast.Quant):
            raise PropertyError("a property body starts with `forall` or `exists`", getattr(body, "span", Span.none()))
        env: dict[str, Binding] = {}
        outer = self.bind(body.binders, env, outer=True)
        formula = self.boolean(body.body, env)
        for binding in outer:
            if binding.kind == "Request":
                formula = z3.And(well_formed(self.sorts, self.catalogue, binding.value), formula) if body.kind == "exists" \
                    else z3.Implies(well_formed(self.sorts, self.catalogue, binding.value), formula)
        return body.kind, outer, formula

    def boolean(self, e: ast.Expr, env: dict[str, Binding]) -> z3.BoolRef:
        v = self.value(e, env, "Bool")
        if v.kind != "Bool":
            raise PropertyError(f"expected a truth value, found a {v.kind}", e.span)
        return v.term

    def value(self, e: ast.Expr, env: dict[str, Binding], expected: str | None = None) -> V:
        T = z3.BoolVal(True, ctx=self.ctx)
        match e:
            case ast.And(items=items):
                return V("Bool", z3.And([self.boolean(x, env) for x in items]))
            case ast.Or(items=items):
                return V("Bool", z3.Or([self.boolean(x, env) for x in items]))
            case ast.Not(operand=o):
                return V("Bool", z3.Not(self.boolean(o, env)))
            case ast.Implies(premise=a, conclusion=b):
                return V("Bool", z3.Implies(self.boolean(a, env), self.boolean(b, env)))
            case ast.Quant():
                return V("Bool", self._quant(e, env))
            case ast.Temporal(kind="within"):
                return V("Bool", self._within(e, env))
            case ast.Temporal():
                raise PropertyError(f"`{e.kind}` is a temporal operator: it may stand only as the whole of a property's "
                                    "conclusion (`forall s: State, ... . INIT implies always t from s . P`, or "
                                    "`exists s: State, ... . INIT and reachable t from s . P`)", e.span)
            case ast.Compare(op=op, left=a, right=b):
                left = self.value(a, env)
                right = self.value(b, env, left.kind)
                if left.kind != right.kind or left.kind in ("Bool", "State", "Request", "Set"):
                    raise PropertyError(f"`{op}` compares a {left.kind} with a {right.kind}", e.span)
                la, rb = left.term, right.term
                eq = z3.Or(z3.And(z3.Not(la.some), z3.Not(rb.some)), z3.And(la.some, rb.some, la.val == rb.val))
                return V("Bool", z3.Not(eq) if op == "!=" else eq)
            case ast.In(item=i, collection=c, negated=neg):
                item = self.value(i, env)
                coll = self.value(c, env, f"Set:{item.kind}")
                if coll.kind != "Set" or coll.enum != item.kind:
                    raise PropertyError(f"`in` needs a set of {item.kind}", c.span)
                members = [self.sorts.member(item.kind, m) for m in sorted(coll.term)]
                found = z3.And(item.term.some, z3.Or([item.term.val == m for m in members]))
                return V("Bool", z3.Not(found) if neg else found)
            case ast.Name(id=ident):
                return self._name(ident, env, expected)
            case ast.Str(value=text):
                if text not in self.catalogue:
                    from redline.diagnostics import closest
                    near = ", ".join(f"`{c}`" for c in closest(text, self.catalogue))
                    raise PropertyError(f"SRV `{text}` is not in the DUIS catalogue" + (f"; the closest SRVs are {near}" if near else ""), e.span)
                return V("Srv", Opt(T, self.sorts.srvs[text]))
            case ast.SetLit(items=items):
                enum = expected.split(":", 1)[1] if expected and expected.startswith("Set:") else None
                if enum is None:
                    raise PropertyError("a set literal needs a context that says its type", e.span)
                names = [x.id.name for x in items if isinstance(x, ast.Name)]
                bad = [n for n in names if n not in self.program.enums.get(enum, ())]
                if bad or len(names) != len(items):
                    raise PropertyError(f"a set of {enum} may hold only {enum} values", e.span)
                return V("Set", frozenset(names), enum)
            case ast.Field(obj=o, name=n):
                return self._field(e, self.value(o, env), n.name)
            case ast.Call():
                return self._call(e, env)
        raise PropertyError("this expression is not part of the property language", e.span)

    def _name(self, ident: ast.Ident, env: dict[str, Binding], expected: str | None) -> V:
        n = ident.name
        T = z3.BoolVal(True, ctx=self.ctx)
        if n in env:
            b = env[n]
            if b.kind in ("State", "Request"):
                return V(b.kind, b.value)
            return V(b.kind, Opt(T, b.value))
        if expected and expected.startswith("Set:"):
            enum = expected.split(":", 1)[1]
            grp = self.program.groups.get(n)
            if grp and grp[0] == enum:
                return V("Set", grp[1], enum)
        if expected is not None and expected in self.program.enums and n in self.program.enums[expected]:
            return V(expected, Opt(T, self.sorts.member(expected, n)))
        owners = [en for en, ms in self.program.enums.items() if n in ms]
        if expected is None and len(owners) == 1:
            return V(owners[0], Opt(T, self.sorts.member(owners[0], n)))
        from redline.diagnostics import closest
        near = closest(n, sorted({*env, *self.program.groups, *(m for ms in self.program.enums.values() for m in ms)}))
        hint = ("; did you mean " + " or ".join(f"`{x}`" for x in near) + "?") if near else ""
        raise PropertyError(f"unknown name `{n}`" + (f" (expected a {expected})" if expected else "") + hint, ident.span)

    def _field(self, e: ast.Field, obj: V, name: str) -> V:
        if obj.kind != "Request":
            raise PropertyError(f"`.{name}` applies to a Request here, not a {obj.kind}", e.span)
        r: SymRequest = obj.term
        T = z3.BoolVal(True, ctx=self.ctx)
        fields = {
            "sender": V("Party", Opt(T, r.sender)), "role": V("UserRole", Opt(T, r.role)), "srv": V("Srv", Opt(T, r.srv)),
            "remote_party_role": V("RemotePartyRole", Opt(r.has_rpr, r.rpr)),
            "new_certificate_owner": V("Party", Opt(r.has_owner, r.owner)),
        }
        if name not in fields:
            raise PropertyError(f"a Request here has no field `{name}`; it has {', '.join(fields)}", e.span)
        return fields[name]

    def _args(self, e: ast.Call, env: dict[str, Binding], kinds: list[str]) -> list[V]:
        if len(e.args) != len(kinds):
            raise PropertyError(f"`{e.func.name}` takes {len(kinds)} argument(s): {', '.join(kinds)}", e.span)
        out = []
        for a, k in zip(e.args, kinds, strict=True):
            v = self.value(a, env, k)
            if v.kind != k:
                raise PropertyError(f"argument of `{e.func.name}`: expected a {k}, found a {v.kind}", a.span)
            out.append(v)
        return out

    def _call(self, e: ast.Call, env: dict[str, Binding]) -> V:
        f = e.func.name
        match f:
            case "accepted":
                s, r = self._args(e, env, ["State", "Request"])
                if len(self.rulesets) != 1:
                    raise PropertyError("`accepted` needs one rule set; a relational property uses `changes`", e.span)
                return V("Bool", self.outcome(0, s.term, r.term).accepted)
            case "changes":
                s, r = self._args(e, env, ["State", "Request"])
                if len(self.rulesets) != 2:
                    raise PropertyError("`changes` compares two rule sets: expect it under `old..new`", e.span)
                a, b = self.outcome(0, s.term, r.term), self.outcome(1, s.term, r.term)
                return V("Bool", z3.Not(same_verdict(a, b)))
            case "after":
                s, r = self._args(e, env, ["State", "Request"])
                if len(self.rulesets) != 1:
                    raise PropertyError("`after` needs one rule set", e.span)
                return V("State", after(s.term, self.outcome(0, s.term, r.term)))
            case "owner":
                s, cell = self._args(e, env, ["State", "RemotePartyRole"])
                st: SymState = s.term
                return V("Party", Opt(z3.And(st.in_smi, st.anchor_set(cell.term.val)), st.anchor_owner(cell.term.val)))
            case "in_smi":
                (s,) = self._args(e, env, ["State"])
                return V("Bool", s.term.in_smi)
            case "generation" | "device_type" | "smi_status":
                (s,) = self._args(e, env, ["State"])
                enum = {"generation": "Generation", "device_type": "DeviceType", "smi_status": "SmiStatus"}[f]
                st = s.term
                return V(enum, Opt(st.in_smi, {"generation": st.generation, "device_type": st.device_type, "smi_status": st.smi_status}[f]))
            case "suits":
                s, srv = self._args(e, env, ["State", "Srv"])
                name = self.sorts.srv_names.get(str(srv.term.val))
                if name is None:
                    raise PropertyError("`suits` needs a literal SRV", e.span)
                row = self.catalogue[name]
                st = s.term
                return V("Bool", z3.And(st.in_smi,
                                        z3.Or([st.device_type == self.sorts.member("DeviceType", t) for t in sorted(row["device_types"])] or [z3.BoolVal(False, ctx=self.ctx)]),
                                        z3.Or([st.smi_status == self.sorts.member("SmiStatus", t) for t in sorted(row["smi_statuses"])] or [z3.BoolVal(False, ctx=self.ctx)])))
            case "active":
                s, p = self._args(e, env, ["State", "Party"])
                return V("Bool", z3.And(p.term.some, s.term.dcc_user(p.term.val)))
            case "has_role":
                s, p, role = self._args(e, env, ["State", "Party", "UserRole"])
                return V("Bool", z3.And(p.term.some, s.term.has_role(p.term.val, role.term.val)))
            case "registered":
                s, p, role = self._args(e, env, ["State", "Party", "UserRole"])
                st = s.term
                return V("Bool", z3.And(p.term.some, st.registered(p.term.val, role.term.val, st.mpxn, st.now)))
            case "ever_registered":
                s, p = self._args(e, env, ["State", "Party"])
                return V("Bool", z3.And(p.term.some, self._ever_registered(s.term, p.term.val)))
            case "critical" | "non_device":
                (r,) = self._args(e, env, ["Request"])
                srvs = [self.sorts.srvs[x] for x, row in self.catalogue.items() if row.get(f)]
                return V("Bool", z3.Or([r.term.srv == x for x in srvs]) if srvs else z3.BoolVal(False, ctx=self.ctx))
            case "eligible":
                s, r = self._args(e, env, ["State", "Request"])
                return V("Bool", self._eligible(s.term, r.term))
            case "role_allowed":
                (r,) = self._args(e, env, ["Request"])
                return V("Bool", self._column_has(r.term.srv, "eligible_roles", "UserRole", r.term.role))
            case "device_suits":
                s, r = self._args(e, env, ["State", "Request"])
                st = s.term
                return V("Bool", z3.And(st.in_smi,
                                        self._column_has(r.term.srv, "device_types", "DeviceType", st.device_type),
                                        self._column_has(r.term.srv, "smi_statuses", "SmiStatus", st.smi_status)))
        raise PropertyError(
            f"unknown function `{f}`; the property language has accepted, changes, after, owner, in_smi, generation, "
            "device_type, smi_status, suits, active, has_role, registered, ever_registered, critical, non_device, eligible, "
            "role_allowed, device_suits", e.func.span)

    def _eligible(self, st: SymState, r: SymRequest) -> z3.BoolRef:
        """SRPD 6.1(f), stated here independently of the rules: the sender is registered in its role
        for the device's MPxN (i) throughout the date range, else (ii) at the execution time, else (iii) now."""
        def throughout(lo: z3.ArithRef, hi: z3.ArithRef) -> z3.BoolRef:
            if st.covers is not None:
                return st.covers(r.sender, r.role, st.mpxn, lo, hi)
            t = z3.Int(f"t_{self._fresh_id()}", ctx=self.ctx)
            return z3.ForAll([t], z3.Implies(z3.And(lo <= t, t <= hi), st.registered(r.sender, r.role, st.mpxn, t)))
        return z3.And(st.in_smi, z3.If(r.has_range, throughout(r.lo, r.hi),
                                       z3.If(r.has_exec, throughout(r.exec_time, r.exec_time), throughout(st.now, st.now))))

    def _ever_registered(self, st: SymState, p: z3.ArithRef) -> z3.BoolRef:
        """p is named in the device's Registration Data in some role at some instant, past or future."""
        if st.assignments is not None:
            return z3.Or([z3.And(a.used, a.party == p, a.mpxn == st.mpxn) for a in st.assignments] or [z3.BoolVal(False, ctx=self.ctx)])
        role, t = z3.Const(f"er_role_{self._fresh_id()}", self.sorts.enums["UserRole"]), z3.Int(f"er_t_{self._fresh_id()}", ctx=self.ctx)
        return z3.Exists([role, t], st.registered(p, role, st.mpxn, t))

    def _within(self, e: ast.Temporal, env: dict[str, Binding]) -> z3.BoolRef:
        """`within K t from s . P`: P holds of s, or of a state some accepted request leads to, and so on K deep.
        Recovery counts accepted requests only: the environment is not relied on to help."""
        origin = env.get(e.origin.name)
        if origin is None or origin.kind != "State":
            raise PropertyError(f"`{e.origin.name}` is not a State bound here", e.origin.span)
        if len(self.rulesets) != 1:
            raise PropertyError("`within` needs one rule set", e.span)
        assert e.depth is not None

        def reach(st: SymState, depth: int) -> z3.BoolRef:
            inner = dict(env)
            inner[e.var.name] = Binding(e.var.name, "State", st)
            here = self.boolean(e.body, inner)
            if depth == 0:
                return here
            r = SymRequest.fresh(self.sorts, f"w{self._fresh_id()}")
            out = self.outcome(0, st, r)
            deeper = reach(after(st, out), depth - 1)
            return z3.Or(here, z3.Exists(self.request_vars(r), z3.And(well_formed(self.sorts, self.catalogue, r), out.accepted, deeper)))
        return reach(origin.value, e.depth)

    def _column_has(self, srv: z3.ExprRef, column: str, enum: str, value: z3.ExprRef) -> z3.BoolRef:
        """`value` is in the set-valued catalogue column of the (symbolic) SRV, grouping SRVs by their set."""
        groups: dict[frozenset[str], list[z3.ExprRef]] = {}
        for name, row in self.catalogue.items():
            groups.setdefault(frozenset(row.get(column) or ()), []).append(self.sorts.srvs[name])
        cases = [z3.And(z3.Or([srv == x for x in srvs]), z3.Or([value == self.sorts.member(enum, m) for m in sorted(members)]))
                 for members, srvs in groups.items() if members]
        return z3.Or(cases) if cases else z3.BoolVal(False, ctx=self.ctx)

    def _fresh_id(self) -> int:
        self.counter += 1
        return self.counter

    def _quant(self, e: ast.Quant, env: dict[str, Binding]) -> z3.BoolRef:
        inner = dict(env)
        bound: list[z3.ExprRef] = []
        guards: list[z3.BoolRef] = []
        for binding in self.bind(e.binders, inner, outer=False):
            if binding.kind == "Request":
                bound.extend(self.request_vars(binding.value))
                guards.append(well_formed(self.sorts, self.catalogue, binding.value))
            else:
                bound.append(binding.value)
        body = self.boolean(e.body, inner)
        if e.kind == "forall":
            return z3.ForAll(bound, z3.Implies(z3.And(guards), body)) if guards else z3.ForAll(bound, body)
        return z3.Exists(bound, z3.And(*guards, body))


def same_verdict(a: Outcome, b: Outcome) -> z3.BoolRef:
    """Same verdict: both accept, or both reject at the same layer with the same code."""
    def rejects_with(o: Outcome, layer: str, code: str | None) -> z3.BoolRef:
        hits = [c.rejects for c in o.checks if c.check.layer.value == layer and c.check.code == code]
        return z3.Or(hits) if hits else z3.BoolVal(False, ctx=a.accepted.ctx)
    keys = {(c.check.layer.value, c.check.code) for o in (a, b) for c in o.checks}
    return z3.And(a.accepted == b.accepted, *[rejects_with(a, la, co) == rejects_with(b, la, co) for la, co in sorted(keys, key=str)])


def after(st: SymState, out: Outcome) -> SymState:
    """The state after a request's effects: only the device's trust anchors change."""
    from dataclasses import replace
    return replace(st, anchor_set=out.anchor_set_after, anchor_owner=out.anchor_owner_after)


def model_verdict(d: Decided, which: int, state: str, request: str) -> tuple[bool, list[str]] | None:
    """What the model says rule set `which` does with the named request in the named state, if the body judged it."""
    if d.model is None or d.compiler is None:
        return None
    by_name = {b.name: b for b in d.binders}
    out = d.compiler.outcomes.get((which, id(by_name[state].value), id(by_name[request].value)))
    if out is None:
        return None
    m = d.model
    accepted = bool(z3.is_true(m.eval(out.accepted, model_completion=True)))
    return accepted, [c.check.name for c in out.checks if z3.is_true(m.eval(c.rejects, model_completion=True))]


def rules_used(sorts: Sorts, program: ir.Program, rulesets: list[ir.RuleSet], body: ast.Expr,
               timeout_ms: int, rlimit: int, seed: int) -> list[tuple[str, list[str]]] | None:
    """The checks, exceptions and effects an unbounded `unsat` needs: an unsat core over selectors.

    None when the core cannot be had (the caller then cites every rule, which is coarser but true).
    """
    comp = PropertyCompiler(sorts, program, rulesets, None, selectors=True)
    kind, _, formula = comp.compile(body)
    selectors = [sel for enc in comp.encoders for sel in (enc.selectors or {}).values()]
    solver = new_solver(sorts.ctx, min(timeout_ms, 2000), rlimit, seed)  # a core is a refinement: never let it cost the proof's budget
    solver.add(comp.constraints)
    solver.add(z3.Not(formula) if kind == "forall" else formula)
    if solver.check(*[s[2] for s in selectors]) != z3.unsat:
        return None
    core = {str(x) for x in solver.unsat_core()}
    return [(cite, rests) for cite, rests, sel in selectors if str(sel) in core]


NICE_NOW, NICE_START = 1772366400 * SECOND, 1577836800 * SECOND  # 2026-03-01T12:00:00Z, 2020-01-01T00:00:00Z


def simplify(solver: z3.Solver, comp: PropertyCompiler, binders: list[Binding], extra: list[z3.BoolRef] | None = None) -> int:
    """Greedily make a model easier to read: keep each simplification the formula still allows.

    A reviewer should see an ordinary meter, only the roles and trust anchors
    that matter, and round dates. Returns the number of solver calls made.
    """
    requests = [b.value for b in binders if b.kind == "Request"]
    parties = [b.value for b in binders if b.kind == "Party"]
    return prefer(solver, [*(extra or []), *readable(comp.sorts, comp.states, parties, requests)])


def readable(sorts: Sorts, states: list[SymState], parties: list[z3.ArithRef], requests: list[SymRequest]) -> list[z3.BoolRef]:
    """What makes a model easy to read, most wanted first: no optional payload, now and Registration Data
    on round dates, a commissioned meter, no trust anchors but Supplier and Network Operator, no roles held."""
    prefs: list[z3.BoolRef] = []
    parties = parties + [x for r in requests for x in (r.sender, r.owner)]
    for r in requests:
        prefs += [z3.Not(r.has_exec), z3.Not(r.has_range)]
    for st in states:
        prefs += [st.now == NICE_NOW, st.smi_status == sorts.member("SmiStatus", "Commissioned")]
        prefs += [z3.Or(st.device_type == sorts.member("DeviceType", "ESME"), st.device_type == sorts.member("DeviceType", "GSME"))]
        for name, cell in sorts.members["RemotePartyRole"].items():
            if name not in ("Supplier", "NetworkOperator"):
                prefs.append(z3.Not(st.anchor_set(cell)))
        for a in st.assignments or []:
            prefs += [z3.Not(a.used), a.open_ended, a.start == NICE_START]
        for p in parties:
            prefs.append(z3.And([z3.Not(st.has_role(p, r)) for r in sorts.members["UserRole"].values()]))
            prefs += [z3.Not(st.has_role(p, r)) for r in sorts.members["UserRole"].values()]
    return prefs


def prefer(solver: z3.Solver, prefs: list[z3.BoolRef]) -> int:
    """Keep each preference the solver's formula still allows, in order; returns the solver calls made."""
    calls = 0
    for pref in prefs:
        solver.push()
        solver.add(pref)
        calls += 1
        if solver.check() != z3.sat:
            solver.pop()
    solver.check()  # leave the solver holding a model of everything kept
    return calls


def decide(
    sorts: Sorts, program: ir.Program, rulesets: list[ir.RuleSet], body: ast.Expr,
    timeout_ms: int, rlimit: int, seed: int, smt2: Callable[[str, str], None] | None = None,
) -> Decided:
    """Settle a property: a proof from the unbounded encoding, a model from a bounded one."""
    calls = 0
    reason: str | None = None

    def run(bound: int | None) -> tuple[str, PropertyCompiler, z3.Solver, list[Binding]]:
        nonlocal calls
        comp = PropertyCompiler(sorts, program, rulesets, bound)
        kind, binders, formula = comp.compile(body)
        solver = new_solver(sorts.ctx, timeout_ms, rlimit, seed)
        solver.add(comp.constraints)
        solver.add(z3.Not(formula) if kind == "forall" else formula)
        if smt2 is not None:
            smt2("unbounded" if bound is None else f"bounded{bound}", smt2_text(solver))
        calls += 1
        return kind, comp, solver, binders

    def bounded(k: int) -> Decided | None:
        nonlocal reason, calls
        kind, bcomp, bsolver, bbinders = run(k)
        bresult = bsolver.check()
        if bresult == z3.sat:
            status = "refuted" if kind == "forall" else "proved"
            calls += simplify(bsolver, bcomp, bbinders)
            return Decided(status, None, f"bounded{k}", bsolver.model(), bbinders, bcomp, calls)
        if bresult == z3.unknown:
            reason = bsolver.reason_unknown()
        return None

    # The smallest bounded search first: it finds most models at once, and
    # spares the unbounded search the quantifier alternation it is slow on.
    found = bounded(BOUNDS[0])
    if found is not None:
        return found
    kind, comp, solver, binders = run(None)
    result = solver.check()
    if result == z3.unsat:
        # forall: no counterexample in any state; exists: no witness in any state.
        calls += 1
        return Decided("proved" if kind == "forall" else "refuted", None, "unbounded", None, binders, comp, calls,
                       used=rules_used(sorts, program, rulesets, body, timeout_ms, rlimit, seed))
    if result == z3.unknown:
        reason = solver.reason_unknown()
    for k in BOUNDS[1:]:
        found = bounded(k)
        if found is not None:
            return found
    if reason is None:
        reason = f"a model exists only with more than {BOUNDS[-1]} Registration Data assignments"
    return Decided("unknown", reason, None, None, binders, comp, calls)
