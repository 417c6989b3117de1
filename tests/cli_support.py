"""`run_cli`: redline's command line run in this process, held to never printing a traceback (the `run` fixture
of tests/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from redline.cli import main


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]


Run = Callable[..., Result]


def run_cli(capsys: pytest.CaptureFixture[str]) -> Run:
    def go(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in err and "internal error" not in err, err
        return Result(code, out, err)
    return go
