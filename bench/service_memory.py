"""Benchmark: does the core service hold on to memory as answers go by?

The soak run (bench/soak.py) saw the bot's RSS grow by about 15 MB in ten minutes. This script looks at one part of
that: the service and its storage, with no channels. 40 people take the you-said survey again and again (a new wave
each time, as a recurring campaign would give them), and Python's own allocation tracer (tracemalloc) is read after
a warm-up and at the end. Flat traced memory means the service and storage keep nothing per answer; growth in RSS
must then come from the channels' bounded memories or from the allocator.

Run from the repository root:  .venv/bin/python bench/service_memory.py [--surveys 3000]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build
from bot.channels.port import Address
from bot.config import Settings
from bot.engine import conversation as engine

PEOPLE = 40
WARM_UP = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surveys", type=int, default=3000, help="surveys taken in all (40 people in turn)")
    args = parser.parse_args()
    tracemalloc.start(10)
    with tempfile.TemporaryDirectory(prefix="surveybot-memory-") as folder:
        app = build(Settings.from_env({"SURVEYBOT_DATA_DIR": folder, "SURVEYBOT_PEPPER": "bench-pepper-" + "x" * 40}))
        events, began, readings = 0, time.perf_counter(), []
        for n in range(args.surveys):
            address = Address("bench", "T0BENCH", f"U{n % PEOPLE:04d}")
            outcome = app.service.begin(address, "you-said", wave=n // PEOPLE + 1, event_key=f"start-{n}")
            while outcome.open:
                asks = [e for e in outcome.effects if isinstance(e, engine.Ask)]
                if not asks:
                    break
                prompt = asks[-1].prompt
                event: engine.Event = (engine.Reply("1, 2", turn=prompt.turn) if prompt.multiple else
                                       engine.Pick(prompt.turn, 0) if prompt.options else engine.Skip(prompt.turn))
                outcome = app.service.handle(address, event, event_key=f"{n}-{events}")
                events += 1
            if n + 1 in (WARM_UP, args.surveys):
                gc.collect()
                readings.append((n + 1, events, tracemalloc.get_traced_memory()[0]))
        took = time.perf_counter() - began
        app.engine.dispose()
    print(f"service memory: {args.surveys} surveys by {PEOPLE} people, {events} events in {took:.1f} s")
    for surveys, at, traced in readings:
        print(f"  after {surveys:>6} surveys ({at:>7} events): {traced / 1024:>9.0f} KB traced")
    (_, first_events, first), (_, last_events, last) = readings[0], readings[-1]
    per_thousand = (last - first) / max(1, last_events - first_events) * 1000
    print(f"  growth after the warm-up: {(last - first) / 1024:+.0f} KB ({per_thousand:+.0f} bytes per 1,000 events)")


if __name__ == "__main__":
    main()
