"""The evidence page in a real browser: headless Chromium renders report.html with no console
errors, every property name and the diff table are visible, and a screenshot is saved.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: requests on
fd 3, replies on fd 4, each a JSON message ended by NUL), with the standard library only.
`.ci/run` installs Debian's `chromium` when it is missing; where it cannot, this test skips.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _pipe_ends_at_3_and_4(read_end: int, write_end: int) -> None:
    """In the child: Chromium reads DevTools requests on fd 3 and writes replies on fd 4. Move the
    ends out of the way first (either may already be 3 or 4), then into place, inheritable."""
    r, w = fcntl.fcntl(read_end, fcntl.F_DUPFD, 10), fcntl.fcntl(write_end, fcntl.F_DUPFD, 10)
    os.dup2(r, 3)
    os.dup2(w, 4)


class Browser:
    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-pipe",
             "--window-size=1280,900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=lambda: _pipe_ends_at_3_and_4(to_browser_r, from_browser_w),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        out: dict[str, Any] = json.loads(msg)
        return out

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 30) -> Any:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for m in self.events:
            if m.get("method") == method:
                return m
        while True:
            m = self._read(deadline)
            self.events.append(m)
            if m.get("method") == method:
                return m

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # already gone: nothing to close
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


CHECK = """(() => {
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const text = document.body.innerText;
  const table = document.getElementById('diff-table');
  return {names: NAMES.filter(n => !text.includes(n)),
          diffRows: table && visible(table) ? table.tBodies[0].rows.length : -1,
          propertyRows: document.getElementById('properties-table').tBodies[0].rows.length,
          height: document.documentElement.scrollHeight,
          // Sideways: does the page itself scroll (wide tables must scroll inside themselves)?
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          // The answer is on the first screen: it starts within the first viewport's height.
          answerTop: document.getElementById('answer').getBoundingClientRect().top,
          viewport: window.innerHeight};
})()"""


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian package `chromium`; "
                    ".ci/run installs it where it can), so the page cannot be checked in a browser here")
@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_page_renders_in_chromium(evidence_bundle: tuple[Path, int, str], tmp_path: Path, width: int, height: int) -> None:
    out, code, _ = evidence_bundle
    assert code == 0
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    names = sorted({r["property"] for r in doc["results"]})
    browser = Browser(tmp_path / "profile")
    try:
        targets = browser.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        session = browser.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                            "mobile": width < 600}, session=session)
        browser.send("Page.navigate", {"url": (out / "report.html").resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        got = browser.send("Runtime.evaluate", {"expression": CHECK.replace("NAMES", json.dumps(names)), "returnByValue": True},
                           session=session)["result"]["value"]
        metrics = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                      "clip": {"x": 0, "y": 0, "width": metrics["width"], "height": metrics["height"], "scale": 1}},
                            session=session)
        errors = [m for m in browser.events if
                  (m.get("method") == "Runtime.consoleAPICalled" and m["params"]["type"] in ("error", "assert"))
                  or m.get("method") == "Runtime.exceptionThrown"
                  or (m.get("method") == "Log.entryAdded" and m["params"]["entry"]["level"] == "error")]
    finally:
        browser.close()
    assert errors == []
    assert got["names"] == [], f"property names not visible: {got['names']}"
    assert got["diffRows"] == len(doc["diff"]["changes"]) > 0
    assert got["propertyRows"] == len(doc["results"])
    assert got["overflow"] <= 0, f"the page scrolls sideways by {got['overflow']} px at {width} px"
    assert got["answerTop"] < got["viewport"], "the answer does not start on the first screen"
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    # Kept as an artefact of the test run (ignored by git), to look at after a failure.
    shots = Path(__file__).resolve().parents[1] / ".redline-out" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    (shots / f"report-{width}.png").write_bytes(png)
    print(f"screenshot: {shots / f'report-{width}.png'} ({got['height']} px tall)")
