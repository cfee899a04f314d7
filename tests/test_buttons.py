"""Button data: every button we draw decodes to the event it stands for, and nothing else decodes at all."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.channels import buttons
from bot.engine import conversation as engine
from bot.engine.conversation import Prompt


def prompt(kind: str, options: tuple[str, ...], **extra: object) -> Prompt:
    return Prompt("q", 7, kind, "Question?", 2, 5, options=options, **extra)  # type: ignore[arg-type]


def test_every_button_decodes_to_its_event() -> None:
    multi = prompt("multi", ("A", "B"), optional=True, can_go_back=True, selected=(1,))
    rows = buttons.keyboard(multi)
    assert [[b.label for b in row] for row in rows] == [["☐ A"], ["☑ B"], ["← Back", "Skip →", "Done ✓"]]
    events = [buttons.decode(b.data) for row in rows for b in row]
    assert events == [engine.Toggle(7, 0), engine.Toggle(7, 1), engine.Back(7), engine.Skip(7), engine.Done(7)]
    scale = buttons.keyboard(prompt("scale", tuple(str(i) for i in range(0, 11))))
    assert [len(row) for row in scale] == [6, 5]
    assert buttons.decode(scale[1][4].data) == engine.Pick(7, 10)
    assert all(len(b.data.encode()) <= 64 for row in scale for b in row)


@given(st.text(max_size=80))
def test_decode_never_raises_and_rejects_what_we_never_encode(data: str) -> None:
    event = buttons.decode(data)
    if event is not None:
        turn = event.turn  # type: ignore[union-attr]
        index = getattr(event, "index", None)
        action = {engine.Pick: "p", engine.Toggle: "t", engine.Done: "d", engine.Skip: "s", engine.Back: "b"}[
            type(event)]
        assert buttons.encode(turn, action, index) == data


@given(st.integers(0, 10**9 - 1), st.sampled_from("ptdsb"), st.integers(0, 999))
def test_encode_round_trips(turn: int, action: str, index: int) -> None:
    data = buttons.encode(turn, action, index if action in "pt" else None)
    event = buttons.decode(data)
    assert event is not None and event.turn == turn  # type: ignore[union-attr]
