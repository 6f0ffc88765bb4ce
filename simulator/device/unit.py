"""The model of one emulated Q.rad: its state sections and the rules that change them.

Writes are validated per docs/protocol.md (section 3.2) and raise ApiError with
the protocol's error code; `wire_state()` is the state object of section 4.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import math
import random
import re
import secrets
from typing import Any
import uuid

from simulator.clock import Clock, iso
from simulator.identity import Identity

from .physics import (
    GFLOPS_PER_W,
    MAX_POWER_W,
    LocalThermostat,
    Room,
    RoomUse,
    daylight_lux,
    outdoor_temperature,
    people_at,
    room_use,
)

API_VERSION = 1
PRESETS = ("comfort", "eco", "away", "frost_protection")
PRESET_NAMES = (*PRESETS, "none", "boost")
HVAC_MODES = ("heat", "off", "auto")
FROST_GUARD_C = 5.0
# An emulated announcement plays this long (unit time), then the music returns.
ANNOUNCEMENT_S = 8.0
SOURCES = ["network", "bluetooth"]
# An open window: the air of the room is exchanged with outdoor air about ten
# times an hour (a casement opened wide; a tilted one is nearer two). At
# 0.34 Wh/(m3 K) and 2.5 m of height, that is 8.5 W/K per m2 of floor: a
# 20 m2 room loses 170 W/K more, and its air, at 20 C over 0 C outside, first
# falls by about half a degree a minute. Integrated in steps of at most
# WINDOW_STEP_S so that the loss follows the falling temperature.
WINDOW_AIR_CHANGES_PER_H = 10.0
ROOM_HEIGHT_M = 2.5
AIR_HEAT_WH_PER_M3K = 0.34
WINDOW_STEP_S = 30.0
MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
SERIAL = re.compile(r"QR[0-9]-[0-9A-F]{6}")
GROUP_ID = re.compile(r"[0-9a-f]{32}")
MAX_GROUP_MEMBERS = 8
PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]+$")


class ApiError(Exception):
    """A request the unit refuses, with its protocol status and code."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None
    ) -> None:
        """Keep what the error body needs."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def _invalid(field: str, why: str) -> ApiError:
    return ApiError(400, "invalid_value", f"{field} {why}", field)


def refuse_unknown_fields(body: Mapping[str, Any], allowed: set[str]) -> None:
    """400 unknown_field for the first key of `body` not in `allowed` (section 1)."""
    for key in body:
        if key not in allowed:
            raise ApiError(400, "unknown_field", f"unknown field {key!r}", key)


def _check_fields(body: Mapping[str, Any], allowed: set[str]) -> None:
    if not body:
        raise ApiError(400, "invalid_value", "the body must hold at least one field")
    refuse_unknown_fields(body, allowed)


def _number(
    body: Mapping[str, Any],
    key: str,
    low: float,
    high: float,
    step: float | None = None,
) -> float:
    value = body[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
    ):
        raise _invalid(key, "must be a number")
    if not low <= value <= high:
        raise _invalid(key, f"must be between {low} and {high}")
    if step is not None and abs(value / step - round(value / step)) > 1e-9:
        raise _invalid(key, f"must be a multiple of {step}")
    return float(value)


def _boolean(body: Mapping[str, Any], key: str) -> bool:
    if not isinstance(value := body[key], bool):
        raise _invalid(key, "must be true or false")
    return value


def _text(body: Mapping[str, Any], key: str, low: int, high: int) -> str:
    value = body[key]
    if (
        not isinstance(value, str)
        or not low <= len(value) <= high
        or not PRINTABLE.match(value)
    ):
        raise _invalid(key, f"must be {low}-{high} printable characters")
    return value


@dataclass(kw_only=True)
class Media:
    """What the speaker has loaded."""

    url: str
    title: str | None
    position_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class GroupPeer:
    """Another Q.rad of a speaker group, as the client named it."""

    serial: str
    host: str
    port: int

    @classmethod
    def from_body(cls, value: object, field: str) -> GroupPeer:
        """Validate `{"serial", "host", "port"}`."""
        if not isinstance(value, Mapping) or set(value) != {"serial", "host", "port"}:
            raise _invalid(field, "must be objects of serial, host and port")
        serial, host, port = value["serial"], value["host"], value["port"]
        if not isinstance(serial, str) or not SERIAL.fullmatch(serial):
            raise _invalid(field, "holds a malformed serial")
        if (
            not isinstance(host, str)
            or not 1 <= len(host) <= 253
            or not host.isprintable()
        ):
            raise _invalid(field, "holds a malformed host")
        if (
            isinstance(port, bool)
            or not isinstance(port, int)
            or not 1 <= port <= 65535
        ):
            raise _invalid(field, "holds a port outside 1-65535")
        return cls(serial=serial, host=host, port=port)


@dataclass(kw_only=True)
class SpeakerGroup:
    """The speaker group a unit leads or follows (docs/protocol.md 3.2)."""

    id: str
    role: str
    leader: str
    members: list[str]
    # A member's way to its leader's stream.
    leader_address: tuple[str, int] | None = None

    def wire(self) -> dict[str, Any]:
        """`speaker.group` of the state object."""
        return {
            "id": self.id,
            "role": self.role,
            "leader": self.leader,
            "members": list(self.members),
        }


@dataclass(kw_only=True)
class WifiClient:
    """A phone or laptop on the unit's access point."""

    mac: str
    name: str | None
    ip: str
    signal_dbm: int
    connected_since: datetime


@dataclass(kw_only=True)
class QradUnitModel:
    """Everything one emulated Q.rad knows and does."""

    identity: Identity
    clock: Clock
    seed: int
    name: str = ""
    boot_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    booted_at: float = 0.0
    target: float = 20.0
    hvac_mode: str = "heat"
    preset: str = "comfort"
    preset_temperatures: dict[str, float] = field(
        default_factory=lambda: {
            "comfort": 20.0,
            "eco": 17.5,
            "away": 15.0,
            "frost_protection": 7.0,
        }
    )
    boost_until: datetime | None = None
    boost_return: tuple[float, str] | None = None
    power_w: float = 0.0
    power_limit_w: float = MAX_POWER_W
    cloud_power_w: float | None = None
    cloud_jobs: int = 0
    # The controller's GFLOPS for its power (slower steps do more per watt).
    cloud_gflops: float | None = None
    control_valid_until: datetime | None = None
    last_control_at: datetime | None = None
    cloud_connected: bool = False
    broker_url: str | None = None
    household: bool = False
    energy_kwh: float = 0.0
    compute_tflop: float = 0.0
    speaker_power: bool = True
    speaker_state: str = "idle"
    volume: float = 0.3
    muted: bool = False
    source: str = "network"
    media: Media | None = None
    announcing: bool = False
    paused_before_announce: tuple[Media | None, str] | None = None
    group: SpeakerGroup | None = None
    wifi_enabled: bool = True
    ssid: str = ""
    wifi_clients: list[WifiClient] = field(default_factory=list)
    charger_enabled: bool = True
    phone_present: bool = False
    people_override: int | None = None
    # An open window (emulator event): extra loss until then, unit time.
    window_open_until: datetime | None = None
    # Whether the last step was under cloud control (for a bumpless fallback).
    cloud_in_charge: bool = False
    room: Room = field(init=False)
    thermostat: LocalThermostat = field(default_factory=LocalThermostat)
    rng: random.Random = field(init=False)
    use: RoomUse = field(init=False)
    daylight_share: float = field(init=False)

    def __post_init__(self) -> None:
        """Start in a room a few degrees below the comfort temperature."""
        self.rng = random.Random(f"unit-{self.seed}-{self.identity.serial}")
        self.name = self.name or self.identity.name
        self.ssid = self.ssid or f"Qrad-{self.identity.serial[-6:]}"
        start = round(self.rng.uniform(16.0, 19.0), 1)
        self.room = Room.for_floor_area(self.identity.floor_area_m2, start)
        # Rooms differ as real ones do: what they are for, when people are in
        # them (drawn per unit), and how much daylight their windows let in.
        self.use = room_use(self.identity.name)
        self.daylight_share = round(self.rng.uniform(0.35, 1.0), 2)
        self.booted_at = self.clock.monotonic()

    # Simulation.

    @property
    def people(self) -> int:
        """People in the room now."""
        if self.people_override is not None:
            return self.people_override
        return self.people_in(self.clock.now())

    def people_in(self, moment: datetime) -> int:
        """People in the room at `moment`, as its use and its own draws have it."""
        return people_at(moment, f"{self.seed}-{self.identity.serial}", self.use)

    @property
    def control(self) -> str:
        """`cloud` while a control message is valid, else `local`."""
        now = self.clock.now()
        if self.control_valid_until is not None and now <= self.control_valid_until:
            return "cloud"
        return "local"

    @property
    def gflops(self) -> float:
        """Compute delivered now: the controller's figure while it is in charge."""
        if self.control == "cloud" and self.cloud_gflops is not None:
            return self.cloud_gflops * min(
                self.power_w / max(self.cloud_power_w or 0, 1e-9), 1.0
            )
        return self.power_w * GFLOPS_PER_W

    def effective_target(self) -> float:
        """What the unit heats to: off still guards against frost."""
        if self.hvac_mode == "off":
            return FROST_GUARD_C
        return self.target

    def step(self, seconds: float) -> None:
        """Advance the simulation by `seconds` of simulated time."""
        now = self.clock.now()
        if self.household:
            self._household(seconds)
        self._end_boost(now)
        self._follow_schedule(now)
        if self.control == "cloud" and self.cloud_power_w is not None:
            power = min(self.cloud_power_w, self.power_limit_w)
            self.cloud_in_charge = True
        else:
            if self.cloud_in_charge:
                self._take_over_from_cloud()
            power = self.thermostat.power(
                self.effective_target(),
                self.room.temperature,
                seconds,
                self.power_limit_w,
            )
        self.power_w = power
        self._heat_room(seconds, power, now)
        self.energy_kwh += power * seconds / 3_600_000.0
        self.compute_tflop += self.gflops * seconds / 1000.0
        if self.media is not None and self.speaker_state == "playing":
            # Counted before this step's seconds: an announcement is heard for at
            # least one whole tick at any speed, long enough for the members,
            # who poll their leader a few times a tick, to hear it too.
            heard_s = self.media.position_s
            self.media.position_s += seconds
            if self.announcing and heard_s >= ANNOUNCEMENT_S and not self.following:
                self.finish_announcement()

    def _take_over_from_cloud(self) -> None:
        """Bumpless transfer: the local thermostat goes on from the cloud's power.

        Its integral starts where the cloud's last power leaves it, so that a
        room the cloud held at its target stays there, instead of cooling until
        a fresh integral has wound up.
        """
        self.cloud_in_charge = False
        if self.hvac_mode == "off" or self.cloud_power_w is None:
            self.thermostat.reset()
            return
        error = self.effective_target() - self.room.temperature
        carried = self.cloud_power_w - self.thermostat.gain_w_per_k * error
        self.thermostat.integral_w = min(max(carried, 0.0), self.power_limit_w)

    @property
    def window_open(self) -> bool:
        """Whether a window of the room is open now."""
        return (
            self.window_open_until is not None
            and self.clock.now() < self.window_open_until
        )

    def open_window(self, minutes: float) -> None:
        """Open a window of the room for `minutes` of unit time (0 closes it)."""
        self.window_open_until = (
            self.clock.now() + timedelta(minutes=minutes) if minutes > 0 else None
        )

    def _heat_room(self, seconds: float, power: float, now: datetime) -> None:
        """Advance the room under `power`, and an open window's extra loss."""
        outdoor = outdoor_temperature(now)
        if not self.window_open:
            self.window_open_until = None
            self.room.step(seconds, power, outdoor, self.people)
            return
        conductance = (
            AIR_HEAT_WH_PER_M3K
            * WINDOW_AIR_CHANGES_PER_H
            * ROOM_HEIGHT_M
            * self.identity.floor_area_m2
        )
        chunks = max(1, math.ceil(seconds / WINDOW_STEP_S))
        for _ in range(chunks):
            loss = conductance * (self.room.temperature - outdoor)
            self.room.step(seconds / chunks, power - loss, outdoor, self.people)

    def _end_boost(self, now: datetime) -> None:
        if (
            self.boost_until is not None
            and now >= self.boost_until
            and self.boost_return
        ):
            self.target, self.preset = self.boost_return
            self.boost_until = None
            self.boost_return = None

    def _follow_schedule(self, now: datetime) -> None:
        """In auto mode: comfort from 06:00 to 22:00, eco otherwise."""
        if self.hvac_mode != "auto" or self.boost_until is not None:
            return
        preset = "comfort" if 6 <= now.hour < 22 else "eco"
        self.preset = preset
        self.target = self.preset_temperatures[preset]

    def reboot(self) -> None:
        """A new boot: new boot id, uptime from zero, state kept."""
        self.boot_id = str(uuid.uuid4())
        self.booted_at = self.clock.monotonic()

    # Cloud control (applied by the unit's cloud link).

    def apply_control(
        self,
        power_target_w: float,
        jobs: int,
        valid_for_s: float,
        issued_at: datetime,
        gflops: float | None = None,
    ) -> bool:
        """Apply a control message unless it is older than the last one."""
        if self.last_control_at is not None and issued_at < self.last_control_at:
            return False
        self.cloud_gflops = gflops
        self.cloud_power_w = min(max(power_target_w, 0.0), MAX_POWER_W)
        self.cloud_jobs = max(jobs, 0)
        self.last_control_at = issued_at
        self.control_valid_until = issued_at + timedelta(seconds=valid_for_s)
        return True

    # Writes (docs/protocol.md, section 3.2).

    def patch_thermostat(self, body: Mapping[str, Any]) -> None:
        """Target, mode, preset and preset temperatures, all or nothing."""
        allowed = {"target_temperature", "hvac_mode", "preset", "preset_temperatures"}
        _check_fields(body, allowed)
        if "target_temperature" in body and "preset" in body:
            message = "give target_temperature or preset, not both"
            raise ApiError(400, "invalid_value", message, "preset")
        target = None
        if "target_temperature" in body:
            target = _number(body, "target_temperature", 5.0, 30.0, 0.5)
        mode = body.get("hvac_mode")
        if "hvac_mode" in body and mode not in HVAC_MODES:
            raise _invalid("hvac_mode", f"must be one of {', '.join(HVAC_MODES)}")
        preset = body.get("preset")
        if "preset" in body and preset not in PRESET_NAMES:
            raise _invalid("preset", f"must be one of {', '.join(PRESET_NAMES)}")
        self.preset_temperatures = self._preset_temperatures(body)
        if mode is not None:
            self.hvac_mode = mode
            if mode == "off":
                self.thermostat.reset()
        self._set_target_or_preset(target, preset)

    def _preset_temperatures(self, body: Mapping[str, Any]) -> dict[str, float]:
        """The preset temperatures after a write (validated, not yet applied)."""
        temperatures = dict(self.preset_temperatures)
        if "preset_temperatures" not in body:
            return temperatures
        given = body["preset_temperatures"]
        if not isinstance(given, Mapping) or not given:
            raise _invalid("preset_temperatures", "must be an object of temperatures")
        for name in given:
            if name not in PRESETS:
                message = f"unknown preset {name!r}"
                raise ApiError(400, "unknown_field", message, "preset_temperatures")
            temperatures[name] = _number(given, name, 5.0, 30.0, 0.5)
        return temperatures

    def _set_target_or_preset(self, target: float | None, preset: str | None) -> None:
        """A target by hand, a preset, or the active preset's new temperature."""
        if target is not None:
            self._cancel_boost()
            self.target, self.preset = target, "none"
        elif preset == "boost":
            self.boost(60, 2.0)
        elif preset == "none":
            self._cancel_boost()
            self.preset = "none"
        elif preset is not None:
            self._cancel_boost()
            self.preset, self.target = preset, self.preset_temperatures[preset]
        elif self.preset in PRESETS:
            self.target = self.preset_temperatures[self.preset]

    def boost(self, minutes: float, delta: float) -> None:
        """Raise the target by delta for a while, then go back."""
        if self.boost_return is None:
            self.boost_return = (self.target, self.preset)
        base = self.boost_return[0]
        self.target = min(base + delta, 30.0)
        self.preset = "boost"
        self.boost_until = self.clock.now() + timedelta(minutes=minutes)

    def post_boost(self, body: Mapping[str, Any]) -> None:
        """`POST /thermostat/boost`."""
        _check_fields(body, {"minutes", "delta"})
        if "minutes" not in body:
            raise _invalid("minutes", "is required")
        minutes = _number(body, "minutes", 1, 240)
        if minutes != int(minutes):
            raise _invalid("minutes", "must be a whole number")
        delta = _number(body, "delta", 0.5, 5.0, 0.5) if "delta" in body else 2.0
        self.boost(minutes, delta)

    def _cancel_boost(self) -> None:
        self.boost_until = None
        self.boost_return = None

    def patch_power(self, body: Mapping[str, Any]) -> None:
        """The cap on any power target, the cloud's and the local thermostat's."""
        _check_fields(body, {"power_limit_w"})
        self.power_limit_w = _number(body, "power_limit_w", 0.0, MAX_POWER_W)

    def patch_speaker(self, body: Mapping[str, Any]) -> None:
        """Power, volume, mute, source."""
        _check_fields(body, {"power", "volume", "muted", "source"})
        power = _boolean(body, "power") if "power" in body else self.speaker_power
        volume = _number(body, "volume", 0.0, 1.0) if "volume" in body else self.volume
        muted = _boolean(body, "muted") if "muted" in body else self.muted
        source = body.get("source", self.source)
        if source not in SOURCES:
            raise _invalid("source", f"must be one of {', '.join(SOURCES)}")
        self.volume, self.muted, self.source = volume, muted, source
        if power != self.speaker_power:
            self.speaker_power = power
            self.speaker_state = "idle" if power else "off"
            if not power:
                self.media = None
                self.announcing = False
                self.group = None

    def play(self, body: Mapping[str, Any]) -> None:
        """Play a URL, or announce it over what plays."""
        _check_fields(body, {"url", "title", "announce"})
        if "url" not in body:
            raise _invalid("url", "is required")
        url = _text(body, "url", 1, 2048)
        if not url.startswith(("http://", "https://")):
            raise _invalid("url", "must be an http or https URL")
        title = _text(body, "title", 1, 128) if body.get("title") is not None else None
        announce = _boolean(body, "announce") if "announce" in body else False
        self._require_power()
        self._leave_if_following()
        if announce:
            if not self.announcing:
                self.paused_before_announce = (self.media, self.speaker_state)
            self.announcing = True
        self.media = Media(url=url, title=title)
        self.speaker_state = "playing"

    def finish_announcement(self) -> None:
        """Give back what played before the announcement."""
        if self.announcing and self.paused_before_announce is not None:
            self.media, self.speaker_state = self.paused_before_announce
        self.announcing = False
        self.paused_before_announce = None

    def pause(self) -> None:
        """Pause what plays."""
        self._require_power()
        self._leave_if_following()
        if self.speaker_state != "playing":
            raise ApiError(409, "not_available", "nothing is playing")
        self.speaker_state = "paused"

    def resume(self) -> None:
        """Resume what was paused."""
        self._require_power()
        self._leave_if_following()
        if self.speaker_state != "paused":
            raise ApiError(409, "not_available", "nothing is paused")
        self.speaker_state = "playing"

    def stop(self) -> None:
        """Stop and unload."""
        self._require_power()
        self.group = None if self.following else self.group
        self.media = None
        self.announcing = False
        self.speaker_state = "idle"

    def _require_power(self) -> None:
        if not self.speaker_power:
            raise ApiError(409, "not_available", "the speaker is off")

    # Speaker groups (docs/protocol.md 3.2, additive).

    @property
    def following(self) -> bool:
        """Whether this unit plays what a leader plays."""
        return self.group is not None and self.group.role == "member"

    def _leave_if_following(self) -> None:
        """A member told to play something itself leaves its group first."""
        if self.following:
            self.group = None
            self.announcing = False
            self.paused_before_announce = None

    def post_speaker_group(self, body: Mapping[str, Any]) -> None:
        """Lead a group (`members`), follow a leader (`leader`, `group_id`), leave."""
        _check_fields(body, {"members", "leader", "group_id"})
        if "members" in body:
            if "leader" in body or "group_id" in body:
                message = "give members (to lead) or leader (to follow), not both"
                raise ApiError(400, "invalid_value", message, "members")
            self._lead(body["members"])
            return
        if "leader" not in body:
            raise _invalid("leader", "is required without members")
        if body["leader"] is None:
            if "group_id" in body:
                raise _invalid("group_id", "goes with a leader")
            if self.following:
                self.leave_group()
            return
        leader = GroupPeer.from_body(body["leader"], "leader")
        group_id = body.get("group_id")
        if not isinstance(group_id, str) or not GROUP_ID.fullmatch(group_id):
            raise _invalid(
                "group_id", "must be the 32 hex digits of the leader's group"
            )
        if leader.serial == self.identity.serial:
            raise _invalid("leader", "is this Q.rad itself")
        if self.group is not None and self.group.role == "leader":
            raise ApiError(
                409, "not_available", "this Q.rad leads a group: dissolve it first"
            )
        self._require_power()
        self.group = SpeakerGroup(
            id=group_id,
            role="member",
            leader=leader.serial,
            members=[],
            leader_address=(leader.host, leader.port),
        )

    def _lead(self, raw: object) -> None:
        if not isinstance(raw, list) or len(raw) > MAX_GROUP_MEMBERS:
            raise _invalid("members", f"must be a list of at most {MAX_GROUP_MEMBERS}")
        members = [GroupPeer.from_body(item, "members") for item in raw]
        serials = [member.serial for member in members]
        if self.identity.serial in serials or len(set(serials)) != len(serials):
            raise _invalid("members", "must be other Q.rads, each once")
        if self.following:
            raise ApiError(
                409,
                "not_available",
                "this Q.rad follows another: leave its group first",
            )
        if not members:
            self.group = None
            return
        self._require_power()
        group_id = self.group.id if self.group is not None else secrets.token_hex(16)
        self.group = SpeakerGroup(
            id=group_id, role="leader", leader=self.identity.serial, members=serials
        )

    def leave_group(self) -> None:
        """Stop following: the member falls silent."""
        self.group = None
        self.announcing = False
        self.paused_before_announce = None
        self.media = None
        if self.speaker_power:
            self.speaker_state = "idle"

    def group_stream(self, group_id: str) -> dict[str, Any]:
        """What a leader plays, for its members (`GET /speaker/stream`)."""
        group = self.group
        if group is None or group.role != "leader" or group.id != group_id:
            raise ApiError(404, "not_found", "no such speaker group here")
        media = self.media
        return {
            "group_id": group.id,
            "leader": group.leader,
            "members": list(group.members),
            "state": self.speaker_state,
            "announcing": self.announcing,
            "media": None
            if media is None
            else {
                "url": media.url,
                "title": media.title,
                "position_s": round(media.position_s, 3),
            },
            "at": iso(self.clock.now()),
        }

    def follow(self, stream: Mapping[str, Any]) -> None:
        """Play what the leader plays, where it plays it (a member's poll)."""
        group = self.group
        if group is None or group.role != "member" or not self.speaker_power:
            return
        members = stream.get("members")
        if isinstance(members, list):
            group.members = [str(serial) for serial in members]
        state = stream.get("state")
        self.speaker_state = state if state in ("idle", "playing", "paused") else "idle"
        self.announcing = stream.get("announcing") is True
        media = stream.get("media")
        if not isinstance(media, Mapping):
            self.media = None
            return
        position = media.get("position_s")
        self.media = Media(
            url=str(media.get("url")),
            title=media.get("title") if isinstance(media.get("title"), str) else None,
            position_s=float(position) if isinstance(position, int | float) else 0.0,
        )

    def patch_wifi(self, body: Mapping[str, Any]) -> None:
        """Access point on/off, SSID, passphrase."""
        _check_fields(body, {"enabled", "ssid", "passphrase"})
        enabled = _boolean(body, "enabled") if "enabled" in body else self.wifi_enabled
        ssid = _text(body, "ssid", 1, 32) if "ssid" in body else self.ssid
        if "passphrase" in body:
            passphrase = body["passphrase"]
            if (
                not isinstance(passphrase, str)
                or not 8 <= len(passphrase) <= 63
                or not passphrase.isascii()
                or not passphrase.isprintable()
            ):
                raise _invalid("passphrase", "must be 8-63 printable ASCII characters")
        self.wifi_enabled, self.ssid = enabled, ssid
        if not enabled:
            self.wifi_clients = []

    def patch_charger(self, body: Mapping[str, Any]) -> None:
        """Charger on/off."""
        _check_fields(body, {"enabled"})
        self.charger_enabled = _boolean(body, "enabled")

    def patch_device(self, body: Mapping[str, Any]) -> None:
        """Rename the unit."""
        _check_fields(body, {"name"})
        self.name = _text(body, "name", 1, 64)

    # Environment (emulator control and the seeded life of the room).

    def _free_client_ip(self) -> str:
        """The lowest address of the access point's range no client holds."""
        taken = {client.ip for client in self.wifi_clients}
        return next(
            f"192.168.50.{host}"
            for host in range(10, 250)
            if f"192.168.50.{host}" not in taken
        )

    def _household(self, seconds: float) -> None:
        """People come and go: a Wi-Fi client joins or leaves about twice an hour.

        Only with `household` on (the demo): the tests drive clients themselves.
        """
        if self.rng.random() >= min(seconds / 1800, 1.0):
            return
        if len(self.wifi_clients) > 1 and self.rng.random() < 0.5:
            self.client_leave(self.rng.choice(self.wifi_clients).mac)
        else:
            self.client_join()
        self.phone_present = self.rng.random() < 0.5

    def client_join(
        self, mac: str | None = None, name: str | None = None
    ) -> WifiClient | None:
        """A device joins the access point."""
        if not self.wifi_enabled or len(self.wifi_clients) >= 32:
            return None
        if mac is not None and not MAC.fullmatch(mac):
            raise _invalid("mac", "must be a lower-case MAC like 3c:22:fb:00:11:22")
        if name is not None and not (1 <= len(name) <= 64 and name.isprintable()):
            raise _invalid("name", "must be 1-64 printable characters")
        number = self.rng.randrange(1 << 24)
        client = WifiClient(
            mac=mac
            or "3c:22:fb:"
            + ":".join(f"{(number >> s) & 0xFF:02x}" for s in (16, 8, 0)),
            name=name
            or self.rng.choice(
                ("Anna's phone", "Laptop", "Tablet", "Leo's phone", "TV")
            ),
            ip=self._free_client_ip(),
            signal_dbm=self.rng.randint(-80, -40),
            connected_since=self.clock.now(),
        )
        self.wifi_clients = [c for c in self.wifi_clients if c.mac != client.mac] + [
            client
        ]
        return client

    def client_leave(self, mac: str) -> bool:
        """A device leaves the access point."""
        before = len(self.wifi_clients)
        self.wifi_clients = [c for c in self.wifi_clients if c.mac != mac]
        return len(self.wifi_clients) != before

    # The state object (docs/protocol.md, section 4).

    def wire_state(self) -> dict[str, Any]:
        """The full state, as served and pushed."""
        now = self.clock.now()
        people = self.people
        power_target = self.power_w
        heating = self.hvac_mode != "off" and self.power_w > 1.0
        jobs = self.cloud_jobs if self.control == "cloud" else 0
        noise = 28.0 + 9.0 * people + self.power_w / 100.0
        return {
            "device": {
                "serial": self.identity.serial,
                "name": self.name,
                "model": self.identity.model,
                "firmware": self.identity.firmware,
                "api_version": API_VERSION,
                "mac": self.identity.mac,
                "boot_id": self.boot_id,
                "uptime_s": int(self.clock.monotonic() - self.booted_at),
                "wifi_rssi_dbm": -48,
            },
            "thermostat": {
                "target_temperature": self.target,
                "min_temperature": 5.0,
                "max_temperature": 30.0,
                "step": 0.5,
                "hvac_mode": self.hvac_mode,
                "preset": self.preset,
                "preset_temperatures": dict(self.preset_temperatures),
                "boost_until": iso(self.boost_until) if self.boost_until else None,
                "hvac_action": "off"
                if self.hvac_mode == "off"
                else ("heating" if heating else "idle"),
                "control": self.control,
            },
            "sensors": {
                "temperature": round(self.room.temperature, 1),
                "humidity": round(
                    min(
                        max(
                            55.0 - 1.5 * (self.room.temperature - 15.0) + 4.0 * people,
                            15.0,
                        ),
                        90.0,
                    ),
                    1,
                ),
                "co2_ppm": int(min(max(self.room.co2_ppm, 400.0), 5000.0)),
                "voc_index": min(max(int(90 + 35 * people), 1), 500),
                "illuminance_lx": round(
                    daylight_lux(now, self.daylight_share) + 150.0 * bool(people), 1
                ),
                "noise_db": round(min(noise, 120.0), 1),
            },
            "power": {
                "power_w": round(self.power_w, 1),
                "power_target_w": round(power_target, 1),
                "power_limit_w": self.power_limit_w,
            },
            "compute": {
                "gflops": round(self.gflops, 1),
                "jobs_running": jobs,
                "load": round(self.power_w / MAX_POWER_W, 3),
            },
            "meters": {
                "energy_kwh": round(self.energy_kwh, 4),
                "compute_tflop": round(self.compute_tflop, 1),
            },
            "speaker": {
                "power": self.speaker_power,
                "state": self.speaker_state,
                "volume": self.volume,
                "muted": self.muted,
                "source": self.source,
                "sources": list(SOURCES),
                "announcing": self.announcing,
                "group": None if self.group is None else self.group.wire(),
                "media": None
                if self.media is None
                else {
                    "url": self.media.url,
                    "title": self.media.title,
                    "duration_s": None,
                    "position_s": round(self.media.position_s, 1),
                    "position_updated_at": iso(now),
                },
            },
            "wifi": {
                "enabled": self.wifi_enabled,
                "ssid": self.ssid,
                "channel": 6,
                "clients": [
                    {
                        "mac": c.mac,
                        "name": c.name,
                        "ip": c.ip,
                        "signal_dbm": c.signal_dbm,
                        "connected_since": iso(c.connected_since),
                    }
                    for c in self.wifi_clients
                ],
            },
            "charger": {
                "enabled": self.charger_enabled,
                "phone_present": self.phone_present,
                "charging": self.phone_present and self.charger_enabled,
                "power_w": 7.5 if self.phone_present and self.charger_enabled else 0.0,
            },
            "cloud": {
                "connected": self.cloud_connected,
                # A unit only knows its account once the operator linked it.
                "account": self.identity.account if self.broker_url else None,
                "broker": self.broker_url,
                "last_control_at": iso(self.last_control_at)
                if self.last_control_at
                else None,
            },
        }
