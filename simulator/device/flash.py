"""What an emulated Q.rad keeps across restarts of the emulator, as a real one's flash.

A real Q.rad that reboots keeps its pairing tokens, its name, its settings and
its meters; an emulator that forgot them would leave a Home Assistant that
kept running with revoked tokens and meters that drop to zero (a reset in the
recorder's sums). The state is one JSON file per unit, written atomically; an
unreadable file is set aside under a `.bad` suffix with a warning, and the unit
starts as new.
"""

from __future__ import annotations

from datetime import datetime
import json
import logging
from pathlib import Path
from typing import Any

from .server import UnitServer

_LOGGER = logging.getLogger(__name__)
VERSION = 1


def flash_path(folder: Path, serial: str) -> Path:
    """Where the unit with `serial` keeps its state."""
    return folder / f"{serial}.json"


def save(server: UnitServer, path: Path, moment: datetime) -> None:
    """Write the unit's lasting state at `moment` (atomically: no torn file)."""
    unit, thermostat = server.unit, server.unit.thermostat
    state = {
        "version": VERSION,
        "saved_at": moment.isoformat(),
        "tokens": server.tokens,
        "name": unit.name,
        "hvac_mode": thermostat.hvac_mode,
        "target": thermostat.target,
        "preset": thermostat.preset,
        "preset_temperatures": thermostat.preset_temperatures,
        "power_limit_w": unit.power_limit_w,
        "energy_kwh": unit.energy_kwh,
        "compute_tflop": unit.compute_tflop,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(state, indent=1))
    partial.replace(path)


def restore(server: UnitServer, path: Path) -> datetime | None:
    """Load the unit's state saved in `path`: when it was saved, or None if new."""
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
        saved_at = _apply(server, state)
    except (ValueError, KeyError, TypeError) as err:
        kept = path.with_suffix(".bad")
        path.replace(kept)
        _LOGGER.warning(
            "%s: unreadable state file (%s), kept as %s; the Q.rad starts as new",
            server.unit.identity.serial,
            err,
            kept,
        )
        return None
    return saved_at


def _apply(server: UnitServer, state: dict[str, Any]) -> datetime:
    """Read every field first, so that a bad one leaves the unit as it was."""
    if state["version"] != VERSION:
        raise ValueError(f"version {state['version']!r}, not {VERSION}")
    saved_at = datetime.fromisoformat(state["saved_at"])
    tokens = {str(key): str(value) for key, value in dict(state["tokens"]).items()}
    presets = {
        str(key): float(value) for key, value in state["preset_temperatures"].items()
    }
    settings = (
        str(state["name"]),
        str(state["hvac_mode"]),
        float(state["target"]),
        str(state["preset"]),
        float(state["power_limit_w"]),
    )
    meters = float(state["energy_kwh"]), float(state["compute_tflop"])
    if min(meters) < 0:
        raise ValueError("a negative meter")
    unit, thermostat = server.unit, server.unit.thermostat
    server.tokens = tokens
    thermostat.preset_temperatures = presets
    (
        unit.name,
        thermostat.hvac_mode,
        thermostat.target,
        thermostat.preset,
        unit.power_limit_w,
    ) = settings
    unit.energy_kwh, unit.compute_tflop = meters
    return saved_at
