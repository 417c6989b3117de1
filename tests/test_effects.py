"""The one effects applier (redline.interp.effects), which every replay of a solver model goes through."""

from __future__ import annotations

from redline.interp.effects import anchors_after, apply_effects


def test_anchors_after_sets_cells_in_order_and_keeps_the_rest() -> None:
    before = {"NetworkOperator": "p1", "Supplier": "p2"}
    after = anchors_after(before, [("NetworkOperator", "p3"), ("Supplier", "p4"), ("NetworkOperator", "p5")])
    assert after == {"NetworkOperator": "p5", "Supplier": "p4"}
    assert before == {"NetworkOperator": "p1", "Supplier": "p2"}  # a copy: the state judged is not changed
    assert anchors_after({}, [("Supplier", "p1")]) == {"Supplier": "p1"}


def test_apply_effects_changes_only_the_named_device_and_cell() -> None:
    state = {"now": "2026-01-01T00:00:00Z",
             "devices": {"d1": {"trust_anchors": {"NetworkOperator": "p1"}}, "d2": {"trust_anchors": {"NetworkOperator": "p1"}}}}
    after = apply_effects(state, [{"device": "d2", "trust_anchor": "NetworkOperator", "owner": "p9"}])
    assert after["devices"]["d2"]["trust_anchors"] == {"NetworkOperator": "p9"}
    assert after["devices"]["d1"] == state["devices"]["d1"] and after["now"] == state["now"]
    assert state["devices"]["d2"]["trust_anchors"] == {"NetworkOperator": "p1"}
    assert apply_effects(state, []) == state
