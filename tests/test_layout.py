"""docpipe.layout.Turn: lines and read-again probes taken to the page's frame."""

from __future__ import annotations

import pytest

from docpipe.layout import Turn
from docpipe.ocr.base import OcrLine


def _close(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    return all(
        abs(p - q) < 1e-9 for u, v in zip(a, b, strict=True) for p, q in zip(u, v, strict=True)
    )


@pytest.mark.parametrize("degrees", [0.0, 90.0, -8.0])
def test_a_probe_and_a_line_are_turned_like_their_points(degrees: float) -> None:
    turn = Turn(degrees, 10.0, 20.0)
    probe = turn.probe((0.0, 0.0, 4.0, 2.0))
    corners = [(0.0, 0.0), (4.0, 0.0), (4.0, 2.0), (0.0, 2.0)]
    assert probe.text == "" and _close(probe.poly, [turn.point(p) for p in corners])
    line = OcrLine(text="名", poly=corners, confidence=0.9)
    turned = turn.line(line)
    assert turned.text == "名" and turned.confidence == 0.9
    assert _close(turned.poly, probe.poly)


def test_a_quarter_turn_about_the_origin() -> None:
    probe = Turn(90.0).probe((0.0, 0.0, 2.0, 1.0))
    assert _close(probe.poly, [(0.0, 0.0), (0.0, 2.0), (-1.0, 2.0), (-1.0, 0.0)])
