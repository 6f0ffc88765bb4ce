"""The speaker section of an emulated Q.rad: playback, announcements and groups.

It owns what the speaker plays and how (docs/protocol.md 3.2: `PATCH /speaker`,
`play`, `pause`, `resume`, `stop`) and the group it leads or follows
(`POST /speaker/group`, and the leader's `GET /speaker/stream` its members read).
How a member reaches its leader is the server's; what it plays is decided here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
import re
import secrets
from typing import Any

from simulator.clock import iso

from .validation import ApiError, boolean, check_fields, invalid, number, text

# An emulated announcement plays this long (unit time), then the music returns.
ANNOUNCEMENT_S = 8.0
SOURCES = ["network", "bluetooth"]
SERIAL = re.compile(r"QR[0-9]-[0-9A-F]{6}")
GROUP_ID = re.compile(r"[0-9a-f]{32}")
MAX_GROUP_MEMBERS = 8


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
            raise invalid(field, "must be objects of serial, host and port")
        serial, host, port = value["serial"], value["host"], value["port"]
        if not isinstance(serial, str) or not SERIAL.fullmatch(serial):
            raise invalid(field, "holds a malformed serial")
        if (
            not isinstance(host, str)
            or not 1 <= len(host) <= 253
            or not host.isprintable()
        ):
            raise invalid(field, "holds a malformed host")
        if (
            isinstance(port, bool)
            or not isinstance(port, int)
            or not 1 <= port <= 65535
        ):
            raise invalid(field, "holds a port outside 1-65535")
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
class Speaker:
    """The unit's speaker, alone or in a group."""

    # The serial of the unit it is in: a group's leader, never its own member.
    serial: str
    power: bool = True
    state: str = "idle"
    volume: float = 0.3
    muted: bool = False
    source: str = "network"
    media: Media | None = None
    announcing: bool = False
    # What played, and how, before the announcement that plays now.
    before_announcement: tuple[Media | None, str] | None = None
    group: SpeakerGroup | None = None

    def advance(self, seconds: float) -> None:
        """Play on for `seconds`; an announcement heard long enough gives way."""
        if self.media is None or self.state != "playing":
            return
        # Counted before this step's seconds: an announcement is heard for at
        # least one whole tick at any speed, long enough for the members,
        # who poll their leader a few times a tick, to hear it too.
        heard_s = self.media.position_s
        self.media.position_s += seconds
        if self.announcing and heard_s >= ANNOUNCEMENT_S and not self.following:
            self.finish_announcement()

    # Playback (docs/protocol.md, section 3.2).

    def patch(self, body: Mapping[str, Any]) -> None:
        """Power, volume, mute, source."""
        check_fields(body, {"power", "volume", "muted", "source"})
        power = boolean(body, "power") if "power" in body else self.power
        volume = number(body, "volume", 0.0, 1.0) if "volume" in body else self.volume
        muted = boolean(body, "muted") if "muted" in body else self.muted
        source = body.get("source", self.source)
        if source not in SOURCES:
            raise invalid("source", f"must be one of {', '.join(SOURCES)}")
        self.volume, self.muted, self.source = volume, muted, source
        if power != self.power:
            self.power = power
            self.state = "idle" if power else "off"
            if not power:
                self.media = None
                self.announcing = False
                self.group = None

    def play(self, body: Mapping[str, Any]) -> None:
        """Play a URL, or announce it over what plays."""
        check_fields(body, {"url", "title", "announce"})
        if "url" not in body:
            raise invalid("url", "is required")
        url = text(body, "url", 1, 2048)
        if not url.startswith(("http://", "https://")):
            raise invalid("url", "must be an http or https URL")
        title = text(body, "title", 1, 128) if body.get("title") is not None else None
        announce = boolean(body, "announce") if "announce" in body else False
        self._require_power()
        self._leave_if_following()
        if announce:
            if not self.announcing:
                self.before_announcement = (self.media, self.state)
            self.announcing = True
        self.media = Media(url=url, title=title)
        self.state = "playing"

    def finish_announcement(self) -> None:
        """Give back what played before the announcement."""
        if self.announcing and self.before_announcement is not None:
            self.media, self.state = self.before_announcement
        self.announcing = False
        self.before_announcement = None

    def pause(self) -> None:
        """Pause what plays."""
        self._require_power()
        self._leave_if_following()
        if self.state != "playing":
            raise ApiError(409, "not_available", "nothing is playing")
        self.state = "paused"

    def resume(self) -> None:
        """Resume what was paused."""
        self._require_power()
        self._leave_if_following()
        if self.state != "paused":
            raise ApiError(409, "not_available", "nothing is paused")
        self.state = "playing"

    def stop(self) -> None:
        """Stop and unload."""
        self._require_power()
        self.group = None if self.following else self.group
        self.media = None
        self.announcing = False
        self.state = "idle"

    def _require_power(self) -> None:
        if not self.power:
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
            self.before_announcement = None

    def post_group(self, body: Mapping[str, Any]) -> None:
        """Lead a group (`members`), follow a leader (`leader`, `group_id`), leave."""
        check_fields(body, {"members", "leader", "group_id"})
        if "members" in body:
            if "leader" in body or "group_id" in body:
                message = "give members (to lead) or leader (to follow), not both"
                raise ApiError(400, "invalid_value", message, "members")
            self._lead(body["members"])
            return
        if "leader" not in body:
            raise invalid("leader", "is required without members")
        if body["leader"] is None:
            if "group_id" in body:
                raise invalid("group_id", "goes with a leader")
            if self.following:
                self.leave_group()
            return
        leader = GroupPeer.from_body(body["leader"], "leader")
        group_id = body.get("group_id")
        if not isinstance(group_id, str) or not GROUP_ID.fullmatch(group_id):
            raise invalid("group_id", "must be the 32 hex digits of the leader's group")
        if leader.serial == self.serial:
            raise invalid("leader", "is this Q.rad itself")
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
            raise invalid("members", f"must be a list of at most {MAX_GROUP_MEMBERS}")
        members = [GroupPeer.from_body(item, "members") for item in raw]
        serials = [member.serial for member in members]
        if self.serial in serials or len(set(serials)) != len(serials):
            raise invalid("members", "must be other Q.rads, each once")
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
            id=group_id, role="leader", leader=self.serial, members=serials
        )

    def leave_group(self) -> None:
        """Stop following: the member falls silent."""
        self.group = None
        self.announcing = False
        self.before_announcement = None
        self.media = None
        if self.power:
            self.state = "idle"

    def group_stream(self, group_id: str, now: datetime) -> dict[str, Any]:
        """What a leader plays, for its members (`GET /speaker/stream`)."""
        group = self.group
        if group is None or group.role != "leader" or group.id != group_id:
            raise ApiError(404, "not_found", "no such speaker group here")
        media = self.media
        return {
            "group_id": group.id,
            "leader": group.leader,
            "members": list(group.members),
            "state": self.state,
            "announcing": self.announcing,
            "media": None
            if media is None
            else {
                "url": media.url,
                "title": media.title,
                "position_s": round(media.position_s, 3),
            },
            "at": iso(now),
        }

    def follow(self, stream: Mapping[str, Any]) -> None:
        """Play what the leader plays, where it plays it (a member's poll)."""
        group = self.group
        if group is None or group.role != "member" or not self.power:
            return
        members = stream.get("members")
        if isinstance(members, list):
            group.members = [str(serial) for serial in members]
        state = stream.get("state")
        self.state = state if state in ("idle", "playing", "paused") else "idle"
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

    def wire(self, now: datetime) -> dict[str, Any]:
        """`speaker` of the state object at `now`."""
        return {
            "power": self.power,
            "state": self.state,
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
        }
