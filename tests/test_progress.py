"""Progress on stderr: shown for long runs when asked (a terminal, or REDLINE_PROGRESS=1), never otherwise."""

from __future__ import annotations

import io
import time

import pytest

from redline import progress
from redline.cli import main


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_quick_command_shows_nothing_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDLINE_PROGRESS", raising=False)
    out = FakeTerminal()
    with progress.Ticker("prove", out):
        progress.note("something")
    assert out.getvalue() == ""


def test_a_long_command_on_a_terminal_shows_the_latest_note_and_clears_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDLINE_PROGRESS", raising=False)
    monkeypatch.setenv("REDLINE_PROGRESS_AFTER", "0.05")
    out = FakeTerminal()
    with progress.Ticker("prove", out):
        progress.note("property 3 of 19: no_takeover [mp107]")
        time.sleep(0.3)
    text = out.getvalue()
    assert "prove: 0 s: property 3 of 19: no_takeover [mp107]" in text
    assert text.endswith("\r\x1b[K")  # the line is cleared: the command's own output starts clean


def test_not_a_terminal_means_no_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDLINE_PROGRESS", raising=False)
    monkeypatch.setenv("REDLINE_PROGRESS_AFTER", "0")
    out = io.StringIO()
    with progress.Ticker("diff", out):
        time.sleep(0.2)
    assert out.getvalue() == ""


def test_prove_notes_each_property_when_forced(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REDLINE_PROGRESS", "1")
    monkeypatch.setenv("REDLINE_PROGRESS_AFTER", "0")
    monkeypatch.setattr(progress, "EVERY", 0.01)  # a quick proof still gets ticks after its first note
    assert main(["prove", "--property", "no_takeover"]) == 0
    err = capsys.readouterr().err
    assert "prove: " in err and "no_takeover [" in err
    assert "\x1b[K" not in err  # plain lines when forced into something that is not a terminal
