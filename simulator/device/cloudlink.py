"""An emulated unit's own MQTT link to the controller (docs/protocol.md 6.5, 6.6).

The unit publishes telemetry once per control period and whenever its target,
mode or power cap changes, and applies the controller's control messages; when
none is valid the unit's model falls back to its local thermostat by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
import json
import logging

import aiomqtt

from simulator.cloud.endpoint import BrokerEndpoint
from simulator.cloud.link import alongside, keep_connected, make_client
from simulator.cloud.scheduler import CONTROL_PERIOD_S

from .unit import QradUnitModel

_LOGGER = logging.getLogger(__name__)
CHECK_S = 0.25
# A unit stopping waits this long at most to say it goes offline.
OFFLINE_TIMEOUT_S = 2.0


class UnitCloudLink:
    """One unit's MQTT session, kept up in the background."""

    def __init__(self, unit: QradUnitModel, endpoint: BrokerEndpoint) -> None:
        """Link `unit` to the broker at `endpoint` (nothing runs until `start`)."""
        self.unit = unit
        self.endpoint = endpoint
        serial = unit.identity.serial
        self._telemetry_topic = f"qrad/v1/dev/{serial}/telemetry"
        self._availability_topic = f"qrad/v1/dev/{serial}/availability"
        self._control_topic = f"qrad/v1/dev/{serial}/control"
        self._task: asyncio.Task[None] | None = None
        # The controller's loop state from the last control, echoed back (6.6).
        self.loop_state: dict[str, object] | None = None

    async def start(self) -> None:
        """Connect (and keep connecting) in the background."""
        self._task = asyncio.create_task(
            keep_connected(
                self._connect, self._serve, self._on_down, self.unit.identity.serial
            )
        )

    async def stop(self) -> None:
        """Say `offline` and drop the link (a lost link gets the last will)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.unit.cloud.connected = False

    def _connect(self) -> aiomqtt.Client:
        identity = self.unit.identity
        return make_client(
            self.endpoint,
            username=identity.serial,
            password=identity.cloud_secret,
            identifier=f"qrad-{identity.serial}",
            will=aiomqtt.Will(self._availability_topic, "offline", qos=1, retain=True),
        )

    def _on_down(self) -> None:
        self.unit.cloud.connected = False

    async def _serve(self, client: aiomqtt.Client) -> None:
        await client.subscribe(self._control_topic, qos=1)
        await client.publish(self._availability_topic, "online", qos=1, retain=True)
        self.unit.cloud.connected = True
        async with alongside(self._report(client), self.unit.identity.serial):
            try:
                async for message in client.messages:
                    if message.topic.value == self._control_topic:
                        self._apply(message.payload)
            except asyncio.CancelledError:
                # A clean disconnect sends no last will: say `offline` ourselves.
                with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                    async with asyncio.timeout(OFFLINE_TIMEOUT_S):
                        await client.publish(
                            self._availability_topic, "offline", qos=1, retain=True
                        )
                raise

    def _apply(self, payload: object) -> None:
        """Apply a control message; a malformed one is logged and ignored."""
        try:
            data = json.loads(payload if isinstance(payload, bytes | str) else b"")
            power = float(data["power_target_w"])
            jobs = int(data["jobs_running"])
            valid_for = float(data["valid_for_s"])
            issued_at = datetime.fromisoformat(data["issued_at"])
            gflops = data.get("gflops_target")
            gflops = None if gflops is None else max(float(gflops), 0.0)
        except (ValueError, KeyError, TypeError) as err:
            _LOGGER.warning(
                "%s: bad control message: %s", self.unit.identity.serial, err
            )
            return
        if self.unit.cloud.apply(power, jobs, valid_for, issued_at, gflops):
            state = data.get("loop_state")
            self.loop_state = state if isinstance(state, dict) else None

    def _setpoint(self) -> tuple[float, str, float]:
        thermostat = self.unit.thermostat
        return (thermostat.target, thermostat.hvac_mode, self.unit.power_limit_w)

    async def _report(self, client: aiomqtt.Client) -> None:
        """Telemetry every control period and on every change of setpoint."""
        clock = self.unit.clock
        last_sent: tuple[float, str, float] | None = None
        last_at = -CONTROL_PERIOD_S
        while True:
            due = clock.monotonic() - last_at >= CONTROL_PERIOD_S
            if due or self._setpoint() != last_sent:
                last_sent = self._setpoint()
                last_at = clock.monotonic()
                await client.publish(
                    self._telemetry_topic, json.dumps(self.telemetry()), qos=0
                )
            await asyncio.sleep(CHECK_S)

    def telemetry(self) -> dict[str, object]:
        """The telemetry message of 6.6."""
        unit = self.unit
        return {
            "serial": unit.identity.serial,
            "room_temperature": round(unit.room.temperature, 2),
            "target_temperature": unit.thermostat.target,
            "hvac_mode": unit.thermostat.hvac_mode,
            "power_w": round(unit.power_w, 1),
            "power_limit_w": unit.power_limit_w,
            "energy_kwh": round(unit.energy_kwh, 5),
            "compute_tflop": round(unit.compute_tflop, 3),
            "control": unit.control,
            "timestamp": iso_precise(unit.clock.now()),
        } | ({"loop_state": self.loop_state} if self.loop_state is not None else {})


def iso_precise(moment: datetime) -> str:
    """ISO 8601 with milliseconds: two reports in one simulated second stay ordered."""
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
