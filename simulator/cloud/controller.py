"""The cloud compute controller: the MQTT service around `Scheduler`.

It reads setpoints (from homeowners' accounts) and telemetry (from units),
runs the control loop once per control period, and publishes control messages
to units and status to accounts, all retained, so that any party restarting
finds the latest word (docs/protocol.md 6).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import aiomqtt

from simulator.clock import Clock, iso

from .access import CONTROLLER, Directory
from .endpoint import BrokerEndpoint
from .link import alongside, keep_connected, make_client
from .messages import (
    MessageError,
    Plan,
    PlanRefusedError,
    Setpoint,
    Telemetry,
    decode,
)
from .scheduler import CONTROL_PERIOD_S, DEFAULT_TARIFF_EUR_PER_KWH, Outcome, Scheduler
from .trace import Trace

_LOGGER = logging.getLogger(__name__)
AVAILABILITY = "qrad/v1/cloud/availability"
# QoS 1 publishes awaiting their PUBACK at once: paho-mqtt's in-flight window
# (`make_client` keeps its default), shared by all of a session's publishes.
PUBLISH_WINDOW = 20


class Controller:
    """One controller worker for the whole directory."""

    def __init__(  # noqa: PLR0913 (configuration, by keyword)
        self,
        directory: Directory,
        endpoint: BrokerEndpoint,
        clock: Clock,
        *,
        tariff_eur_per_kwh: float = DEFAULT_TARIFF_EUR_PER_KWH,
        books_from_meter: bool = False,
        period_s: float = CONTROL_PERIOD_S,
        worker: int = 1,
        policy: str = "pi",
        trace: Trace | None = None,
        shared_group: str | None = None,
    ) -> None:
        """Configure; nothing runs until `start`.

        `policy` is `pi` (6.8), `threshold` or `predictive` (docs/scheduling.md);
        the last two run the jobs of `trace`, or a trace generated for the fleet.
        With `shared_group`, this is one of several workers sharing the fleet
        through MQTT 5 shared subscriptions (docs/scaling.md).
        """
        if shared_group is not None and policy != "pi":
            raise ValueError("shared workers run the pi policy (docs/scaling.md)")
        self.shared_group = shared_group
        self.telemetry_handled = 0
        self.directory = directory
        self.endpoint = endpoint
        self.clock = clock
        self.worker = worker
        self.scheduler = Scheduler(
            owners=directory.owners,
            tariff_eur_per_kwh=tariff_eur_per_kwh,
            books_from_meter=books_from_meter,
            period_s=period_s,
            policy=policy,
            trace=trace,
        )
        # Set once subscribed: from then on no setpoint can be missed.
        self.connected = asyncio.Event()
        self.setpoints_received = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect (and keep connecting) in the background."""
        self._task = asyncio.create_task(
            keep_connected(
                self._connect, self._serve, self._on_down, f"controller-{self.worker}"
            )
        )

    async def stop(self) -> None:
        """Stop; the broker publishes the last will (`offline`)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.connected.clear()

    def _connect(self) -> aiomqtt.Client:
        client = make_client(
            self.endpoint,
            username=CONTROLLER,
            password=self.directory.controller_secret,
            identifier=f"controller-{self.worker}",
            will=aiomqtt.Will(AVAILABILITY, "offline", qos=1, retain=True),
            protocol=aiomqtt.ProtocolVersion.V5
            if self.shared_group
            else aiomqtt.ProtocolVersion.V311,
        )
        # A full window is the plan, not a concern worth aiomqtt's warning.
        client.pending_calls_threshold = PUBLISH_WINDOW
        return client

    def _on_down(self) -> None:
        self.connected.clear()

    async def _serve(self, client: aiomqtt.Client) -> None:
        window = Window(client)
        try:
            if self.shared_group is not None:
                await self._serve_shared(client, window, self.shared_group)
            else:
                await self._serve_alone(client, window)
        finally:
            await window.close()

    async def _serve_alone(self, client: aiomqtt.Client, window: Window) -> None:
        # Only the retained statuses are read (the energy accounts, at connect).
        # At QoS 1 the controller would acknowledge each status it publishes,
        # and Nagle's algorithm holds the next publishes behind such a lone
        # acknowledgement until the broker's delayed ACK (40 ms).
        await client.subscribe("qrad/v1/acct/+/+/status", qos=0)
        await client.subscribe("qrad/v1/acct/+/+/setpoint", qos=1)
        await client.subscribe("qrad/v1/acct/+/+/plan", qos=1)
        await client.subscribe("qrad/v1/dev/+/telemetry", qos=0)
        await self._announce(window)
        self.connected.set()
        async with alongside(self._control_loop(window), f"controller-{self.worker}"):
            async for message in client.messages:
                await self._handle(window, message)

    async def _announce(self, window: Window) -> None:
        messages = [(AVAILABILITY, "online")]
        online = json.dumps({"online": True, "updated_at": iso(self.clock.now())})
        messages += [
            (f"qrad/v1/acct/{account}/cloud", online)
            for account in self.directory.accounts
        ]
        if failures := await window.publish_all(messages):
            raise failures[0]

    async def _serve_shared(
        self, client: aiomqtt.Client, window: Window, group: str
    ) -> None:
        """One of several workers: all setpoints, a share of the telemetry.

        Every worker holds every setpoint (retained, and rare); the broker hands
        each telemetry message to one worker of the group, which takes that
        Q.rad's step at once from the loop state the unit echoes.
        """
        await client.subscribe("qrad/v1/acct/+/+/setpoint", qos=1)
        await client.subscribe(f"$share/{group}/qrad/v1/dev/+/telemetry", qos=0)
        await client.subscribe(AVAILABILITY, qos=1)
        await self._announce(window)
        self.connected.set()
        async for message in client.messages:
            levels = message.topic.value.split("/")
            try:
                if message.topic.value == AVAILABILITY:
                    # Another worker's last will: the cloud is still here.
                    if message.payload in {b"offline", "offline"}:
                        await window.publish(AVAILABILITY, "online")
                elif levels[2] == "acct" and levels[5] == "setpoint":
                    setpoint = Setpoint.parse(_bytes(message.payload), levels[4])
                    outcome = self.scheduler.apply_setpoint(levels[3], setpoint)
                    self.setpoints_received += outcome is Outcome.APPLIED
                elif levels[2] == "dev" and levels[4] == "telemetry":
                    for topic, payload in self._step_shared(levels[3], message.payload):
                        await window.publish(topic, payload)
            except MessageError as err:
                _LOGGER.warning("dropped a message on %s: %s", message.topic.value, err)

    def _step_shared(self, serial: str, payload: object) -> list[tuple[str, str]]:
        """One Q.rad's step on its telemetry: the control and status to publish."""
        telemetry = Telemetry.parse(_bytes(payload), serial)
        if telemetry.loop_state is not None:
            self.scheduler.adopt_loop_state(serial, telemetry.loop_state)
        now = self.clock.now()
        if not self.scheduler.apply_telemetry(telemetry, now):
            return []
        decision = self.scheduler.step_unit(serial, now)
        if decision is None or decision.control is None:
            return []
        self.telemetry_handled += 1
        loop_state = decision.control["loop_state"]
        assert isinstance(loop_state, dict)
        loop_state["worker"] = self.worker
        return [
            (f"qrad/v1/dev/{serial}/control", json.dumps(decision.control)),
            (
                f"qrad/v1/acct/{decision.account}/{serial}/status",
                self._status_payload(decision.serial, decision.status),
            ),
        ]

    async def _handle(self, window: Window, message: aiomqtt.Message) -> None:
        levels = message.topic.value.split("/")
        try:
            if levels[2] == "acct" and levels[5] == "setpoint":
                await self._on_setpoint(window, levels[3], levels[4], message.payload)
            elif levels[2] == "acct" and levels[5] == "plan":
                self._on_plan(levels[3], levels[4], _bytes(message.payload))
            elif levels[2] == "acct" and levels[5] == "status" and message.retain:
                self.scheduler.restore(levels[4], _energy(message.payload))
            elif levels[2] == "dev" and levels[4] == "telemetry":
                telemetry = Telemetry.parse(_bytes(message.payload), levels[3])
                self.scheduler.apply_telemetry(telemetry, self.clock.now())
        except MessageError as err:
            _LOGGER.warning("dropped a message on %s: %s", message.topic.value, err)

    async def _on_setpoint(
        self, window: Window, account: str, serial: str, payload: object
    ) -> None:
        setpoint = Setpoint.parse(_bytes(payload), serial)
        outcome = self.scheduler.apply_setpoint(account, setpoint)
        if outcome is Outcome.NOT_OWNED:
            _LOGGER.warning(
                "account %s does not own %s: setpoint ignored", account, serial
            )
            return
        if outcome is Outcome.STALE:
            _LOGGER.info("stale setpoint %d for %s ignored", setpoint.seq, serial)
            return
        self.setpoints_received += outcome is Outcome.APPLIED
        status = self.scheduler.status(self.scheduler.ledgers[serial], self.clock.now())
        await window.publish(
            f"qrad/v1/acct/{account}/{serial}/status",
            self._status_payload(serial, status),
        )

    def _on_plan(self, account: str, serial: str, payload: bytes) -> None:
        """Apply a plan, or note why it is refused; the next status says which."""
        try:
            # Plans are in wall-clock time; the emulated world may run faster.
            plan = Plan.parse(
                payload, serial, self.clock.real(self.clock.now())
            ).on_clock(self.clock.simulated)
        except PlanRefusedError as err:
            if self.scheduler.refuse_plan(account, serial, _seq(payload), err.reason):
                _LOGGER.warning("refused a plan for %s: %s", serial, err)
            return
        outcome = self.scheduler.apply_plan(account, plan)
        if outcome is Outcome.NOT_OWNED:
            _LOGGER.warning("account %s does not own %s: plan ignored", account, serial)
        elif outcome is Outcome.STALE:
            _LOGGER.info("stale plan %d for %s ignored", plan.seq, serial)

    async def _control_loop(self, window: Window) -> None:
        while True:
            messages = self._period_messages()
            failures = await window.publish_all(messages)
            if failures:
                # A timeout leaves the loop running; a dropped session ends it.
                _LOGGER.warning(
                    "control period: %d of %d messages not acknowledged: %s",
                    len(failures),
                    len(messages),
                    failures[0],
                )
            await self.clock.sleep(self.scheduler.period_s)

    def _period_messages(self) -> list[tuple[str, str]]:
        """One control period: a control and a status per Q.rad heard of."""
        messages = []
        for decision in self.scheduler.run_period(self.clock.now()):
            ledger = self.scheduler.ledgers[decision.serial]
            if ledger.setpoint is None and ledger.telemetry is None:
                continue
            if decision.control is not None:
                messages.append(
                    (
                        f"qrad/v1/dev/{decision.serial}/control",
                        json.dumps(decision.control),
                    )
                )
            messages.append(
                (
                    f"qrad/v1/acct/{decision.account}/{decision.serial}/status",
                    self._status_payload(decision.serial, decision.status),
                )
            )
        return messages

    def _status_payload(self, serial: str, status: dict[str, object]) -> str:
        """The status as published: the planned time it heats for on the wall clock."""
        ahead = self.scheduler.ledgers[serial].preheating_for
        if ahead is not None and status.get("preheating_for") is not None:
            status = {**status, "preheating_for": iso(self.clock.real(ahead))}
        return json.dumps(status)


class Window:
    """A session's retained QoS 1 publishes, at most `PUBLISH_WINDOW` awaiting a PUBACK.

    That is paho-mqtt's in-flight window: none waits in paho's queue, where
    aiomqtt's timeout would already run. A publisher waits for a free place,
    not for the round trip, so the reader takes its next message at once: a
    controller that awaited each status's PUBACK read one setpoint per round
    trip, and fell behind a storm of them.
    """

    def __init__(self, client: aiomqtt.Client) -> None:
        """Publish through `client`; nothing is sent yet."""
        self._client = client
        self._places = asyncio.Semaphore(PUBLISH_WINDOW)
        self._awaiting: set[asyncio.Task[aiomqtt.MqttError | None]] = set()

    async def publish(
        self, topic: str, payload: str
    ) -> asyncio.Task[aiomqtt.MqttError | None]:
        """Send once there is room; the task awaiting the PUBACK (its failure)."""
        await self._places.acquire()
        task = asyncio.create_task(self._acknowledged(topic, payload))
        self._awaiting.add(task)
        task.add_done_callback(self._awaiting.discard)
        return task

    async def publish_all(
        self, messages: list[tuple[str, str]]
    ) -> list[aiomqtt.MqttError]:
        """Publish pipelined, in order: the failures (one does not stop the rest)."""
        acknowledgements = [await self.publish(*message) for message in messages]
        return [
            failure
            for failure in await asyncio.gather(*acknowledgements)
            if failure is not None
        ]

    async def close(self) -> None:
        """The acknowledgements of a session that ended go with it."""
        awaiting = list(self._awaiting)
        for task in awaiting:
            task.cancel()
        await asyncio.gather(*awaiting, return_exceptions=True)

    async def _acknowledged(self, topic: str, payload: str) -> aiomqtt.MqttError | None:
        try:
            await self._client.publish(topic, payload, qos=1, retain=True)
        except aiomqtt.MqttError as err:
            return err
        finally:
            self._places.release()
        return None


def _bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    raise MessageError("empty payload")


def _energy(payload: object) -> float:
    """The energy account of a retained status (0 when unreadable)."""
    value = decode(_bytes(payload)).get("energy_kwh")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return 0.0


def _seq(payload: bytes) -> int | None:
    """The seq of a refused plan, when it can be read at all."""
    try:
        seq = decode(payload).get("seq")
    except MessageError:
        return None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None
