#!/usr/bin/env python3
"""Benchmark: the language server over the protocol, as an editor uses it (a `redline lsp` subprocess on stdio).

Diagnostics latency: from sending an edit of a shipped rule file (unsaved:
the text travels in the protocol) to receiving the diagnostics for that
version, the debounce included; edits alternate between a valid text and a
checker error, in rules/mp107.redline and rules/baseline.redline. Hover
latency: the round trip of a hover request on a check name, an SRV and a
define. Prints medians. Targets: diagnostics under 300 ms, hover under 50 ms.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from lsp_support import Editor  # noqa: E402  (the test suite's editor, found beside the benchmarks)

EDITS = 20
HOVERS = 50


def position(text: str, needle: str, delta: int) -> tuple[int, int]:
    i = text.index(needle) + delta
    return text.count("\n", 0, i), i - (text.rfind("\n", 0, i) + 1)


def main() -> int:
    editor = Editor(REPO)
    try:
        started = time.perf_counter()
        docs = {}
        for name, good, bad in [
            ("mp107.redline", "amend check eligible_user", "amend check eligible_usr"),
            ("baseline.redline", "requires sender_is_eligible", "requires sender_is_eligibl"),
        ]:
            path = REPO / "rules" / name
            text = path.read_text()
            uri = editor.open(path)
            editor.diagnostics(uri, 1)
            docs[name] = (uri, text, text.replace(good, bad, 1))
        print(f"first diagnostics after opening two files: {time.perf_counter() - started:.2f} s (server start included)")
        latencies = []
        for i in range(EDITS):
            uri, good, bad = docs["mp107.redline" if i % 4 < 2 else "baseline.redline"]
            text = bad if i % 2 == 0 else good
            sent = time.perf_counter()
            diags = editor.publication(uri, editor.change(uri, text))
            latencies.append(diags[0] - sent)
            assert bool(diags[1]) == (text is bad), diags
        uri, text, _ = docs["mp107.redline"]
        editor.diagnostics(uri, editor.change(uri, text))
        places = [position(text, "amend check eligible_user", 13), position(text, '"6.15.1"', 2),
                  position(text, "device.generation", 9)]
        buri, btext, _ = docs["baseline.redline"]
        hovers = []
        for i in range(HOVERS):
            line, col = places[i % len(places)]
            sent = time.perf_counter()
            assert editor.hover(uri, line, col) is not None
            hovers.append(time.perf_counter() - sent)
        sent = time.perf_counter()
        assert editor.hover(buri, *position(btext, "requires sender_is_eligible", 10)) is not None
        print(f"diagnostics after an edit: median {statistics.median(latencies) * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms over {EDITS} edits (target < 300 ms)")
        print(f"hover: median {statistics.median(hovers) * 1000:.1f} ms, max {max(hovers) * 1000:.1f} ms "
              f"over {HOVERS} requests (target < 50 ms)")
    finally:
        editor.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
