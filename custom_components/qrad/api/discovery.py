"""Reads the TXT record a Q.rad announces over mDNS (docs/protocol.md, section 2)."""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any

from .exceptions import QradInvalidResponseError, QradUnsupportedError
from .models import DEVICE_SERIAL_PATTERN, MAC_PATTERN, DiscoveryInfo

SERVICE_TYPE = "_qrad._tcp.local."
SUPPORTED_API_VERSION = 1
MIN_FIRMWARE = "3.0.0"
# ASCII digits only (\d would take "٣"), and \Z, not $ (which takes a trailing "\n").
VERSION_PATTERN = re.compile(r"^([0-9]+)\.([0-9]+)\.([0-9]+)\Z")
API_PATTERN = re.compile(r"^[0-9]+\Z")


def firmware_tuple(firmware: str) -> tuple[int, int, int]:
    """Compare firmware versions as numbers; raise on anything but MAJOR.MINOR.PATCH."""
    malformed = QradInvalidResponseError(
        f"firmware version {firmware[:32]!r} is malformed"
    )
    if (match := VERSION_PATTERN.match(firmware)) is None:
        raise malformed
    try:
        major, minor, patch = (int(part) for part in match.groups())
    except ValueError as err:  # more digits than int() converts
        raise malformed from err
    return major, minor, patch


def check_supported(api_version: int, firmware: str) -> None:
    """Refuse a unit this client cannot speak to, saying which version it runs."""
    if api_version != SUPPORTED_API_VERSION:
        raise QradUnsupportedError(
            f"API version {api_version} is not supported"
            f" (this client speaks {SUPPORTED_API_VERSION})"
        )
    if firmware_tuple(firmware) < firmware_tuple(MIN_FIRMWARE):
        raise QradUnsupportedError(
            f"firmware {firmware} is older than the oldest supported, {MIN_FIRMWARE}"
        )


def _text(value: object) -> str | None:
    """A TXT key or value as text; None for no value, bad UTF-8 or another type."""
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


def parse_txt(properties: Mapping[str, Any] | Mapping[bytes, Any]) -> DiscoveryInfo:
    """Validate a TXT record into DiscoveryInfo."""
    txt = {
        key: value
        for raw_key, raw_value in dict(properties).items()
        if (key := _text(raw_key)) is not None
        and (value := _text(raw_value)) is not None
    }

    def field(
        key: str, pattern: re.Pattern[str] | None = None, max_length: int = 64
    ) -> str:
        value = txt.get(key)
        if (
            not value
            or len(value) > max_length
            or (pattern and not pattern.match(value))
        ):
            raise QradInvalidResponseError(
                f"TXT record {key!r} is missing or malformed"
            )
        return value

    api = field("api")
    if not API_PATTERN.match(api):
        raise QradInvalidResponseError("TXT record 'api' is not a number")
    info = DiscoveryInfo(
        serial=field("serial", DEVICE_SERIAL_PATTERN),
        name=field("name"),
        model=field("model", max_length=32),
        firmware=field("fw", VERSION_PATTERN, 32),
        api_version=int(api),
        mac=field("mac", MAC_PATTERN),
        path=field("path"),
    )
    check_supported(info.api_version, info.firmware)
    return info
