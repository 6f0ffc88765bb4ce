"""What one pushed update costs the device client, and the emulator, per Q.rad.

    python -m benchmarks.client [--units 346] [--seconds 60]

Replays `--seconds` of real updates of `--units` emulated Q.rads (their models
stepped each second, diffed and JSON-encoded as the emulator's server does)
through the client's stream parser (`custom_components.qrad.api.device._Stream`)
with a no-op callback, and through the old way of applying an update (merge,
then validate the whole state again), for comparison. Also times the
emulator's side of a tick per unit (step, state, diff, encode). Single-threaded
CPU time per update; no sockets, so the figures are stable on a busy machine.
Also says which sections the updates carry (what a section-aware entity would
have to rewrite). The models run at full speed here, so `device.uptime_s`,
which moves every second in a real run, seldom changes.
"""

from __future__ import annotations

import argparse
from collections import Counter
import importlib
import json
import sys
import time
from typing import Any

from simulator.clock import Clock
from simulator.device.server import _diff
from simulator.device.unit import QradUnitModel
from simulator.identity import make_identities

# By name: mypy knows the integration as `qrad`, Python here as custom_components.qrad.
device = importlib.import_module("custom_components.qrad.api.device")
models = importlib.import_module("custom_components.qrad.api.models")


def frames(units: int, seconds: int) -> tuple[list[list[str]], float]:
    """Per unit: the snapshot then one update per second; and the emulator's cost."""
    clock = Clock(1.0)
    models = [
        QradUnitModel(identity=identity, clock=clock, seed=1)
        for identity in make_identities(units, 1)
    ]
    streams: list[list[str]] = []
    published = []
    for model in models:
        state = model.wire_state()
        published.append(state)
        streams.append(
            [
                json.dumps(
                    {
                        "type": "snapshot",
                        "boot_id": model.boot_id,
                        "state": state,
                        "seq": 1,
                    }
                )
            ]
        )
    spent = 0.0
    for _ in range(seconds):
        began = time.process_time()
        for index, model in enumerate(models):
            model.step(1.0)
            state = model.wire_state()
            changes = _diff(published[index], state)
            published[index] = state
            seq = len(streams[index]) + 1
            streams[index].append(
                json.dumps({"type": "update", "changes": changes, "seq": seq})
            )
        spent += time.process_time() - began
    return streams, spent / (units * seconds)


def client_cost(streams: list[list[str]]) -> float:
    """CPU seconds per update through the client's parser."""
    total = updates = 0.0
    for frames_of_unit in streams:
        stream = device._Stream(device.QradDevice("192.0.2.1"), lambda _state: None)  # noqa: SLF001
        stream.handle(frames_of_unit[0])
        began = time.process_time()
        for frame in frames_of_unit[1:]:
            stream.handle(frame)
        total += time.process_time() - began
        updates += len(frames_of_unit) - 1
    return total / updates


def full_parse_cost(streams: list[list[str]]) -> float:
    """CPU seconds per update the old way: merge, then validate the whole state."""
    total = updates = 0.0
    for frames_of_unit in streams:
        raw: dict[str, Any] = json.loads(frames_of_unit[0])["state"]
        began = time.process_time()
        for frame in frames_of_unit[1:]:
            message = json.loads(frame)
            raw = models.merge_update(raw, message["changes"])
            models.QradState.from_dict(raw)
        total += time.process_time() - began
        updates += len(frames_of_unit) - 1
    return total / updates


def main() -> None:
    """Print the costs per update, in microseconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=346)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    streams, emulator = frames(args.units, args.seconds)
    sizes = [len(frame) for unit in streams for frame in unit[1:]]
    carried: Counter[str] = Counter(
        section
        for unit in streams
        for frame in unit[1:]
        for section in json.loads(frame)["changes"]
    )
    shares = ", ".join(
        f"{section} {100 * count / len(sizes):.0f} %"
        for section, count in carried.most_common()
    )
    client = client_cost(streams)
    full = full_parse_cost(streams)
    sys.stdout.write(
        f"{len(sizes)} updates of {args.units} Q.rads, {sum(sizes) / len(sizes):.0f} "
        f"bytes on average\n"
        "emulator, per unit per tick (step, state, diff, encode): "
        f"{emulator * 1e6:.1f} us\n"
        "client, per update (parse, merge, validate what changed): "
        f"{client * 1e6:.1f} us\n"
        "old client, per update (merge, validate the whole state): "
        f"{full * 1e6:.1f} us\n"
        f"sections carried by the updates: {shares}\n"
    )


if __name__ == "__main__":
    main()
