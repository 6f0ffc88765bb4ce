"""One hub per cloud account: the outbox, the MQTT link, and the Q.rads listening.

A Q.rad's entry and its account's entry load in any order; setpoints must not
wait for either. The hub is created by whichever needs it first and lives for
the whole Home Assistant run: Q.rad coordinators submit setpoints into its
durable outbox at any time, and the account entry attaches the cloud link that
delivers them. A repair issue tells the user once the cloud has been gone (the
broker unreachable, or the controller offline) for the account's configured
time, ten minutes by default; the Q.rads meanwhile hold their rooms with their
local thermostats. It goes away by itself once the cloud is back.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TypeIs

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .api.cloud import PLAN_VALIDITY, QradCloud
from .api.cloud_models import (
    ComputeStatus,
    Heating,
    Origin,
    Plan,
    PlannedChange,
    PlanSource,
    Setpoint,
)
from .api.outbox import Outbox
from .const import CLOUD_ISSUE_DELAY_S, CONF_KIND, DOMAIN, KIND_ACCOUNT, LOGGER
from .issues import async_delete_issue, async_raise_issue, cloud_issue_id

DATA_HUBS: HassKey[dict[str, AccountHub]] = HassKey(f"{DOMAIN}_accounts")
STORAGE_VERSION = 1

type QradAccountEntry = ConfigEntry[AccountHub]


def is_account_entry(entry: ConfigEntry) -> TypeIs[QradAccountEntry]:
    """Whether `entry` is a cloud account's (the others are Q.rads')."""
    return entry.data.get(CONF_KIND) == KIND_ACCOUNT


def status_signal(account: str, serial: str) -> str:
    """Dispatched when the controller of `account` says something of `serial`."""
    return f"{DOMAIN}_{account}_status_{serial}"


def link_signal(account: str) -> str:
    """Dispatched when the cloud link of `account` comes or goes."""
    return f"{DOMAIN}_{account}_link"


class AccountHub:
    """Setpoints out and compute status in, for one account's Q.rads."""

    def __init__(self, hass: HomeAssistant, account: str) -> None:
        """An empty hub; `async_load` reads the outbox a previous run left."""
        self.hass = hass
        self.account = account
        self.outbox = Outbox(Store(hass, STORAGE_VERSION, f"{DOMAIN}.outbox.{account}"))
        self.cloud: QradCloud | None = None
        # The account's config entry, once it attached its cloud link.
        self.entry_id: str | None = None
        # The last plan sent for each Q.rad in this run.
        self.plans: dict[str, Plan] = {}
        self._loaded = asyncio.Event()
        self._loading = False
        self._issue_timer: CALLBACK_TYPE | None = None
        # The account's option; None: CLOUD_ISSUE_DELAY_S.
        self.issue_delay_s: float | None = None

    @property
    def issue_id(self) -> str:
        """The repair issue of this account's unreachable cloud."""
        return cloud_issue_id(self.account)

    async def async_load(self) -> None:
        """Read the stored outbox once, whoever asks first."""
        if self._loading:
            await self._loaded.wait()
            return
        self._loading = True
        await self.outbox.load()
        self._loaded.set()

    # The account entry's side.

    async def async_attach(self, cloud: QradCloud, entry_id: str) -> None:
        """Deliver through `cloud` (already configured with this hub's outbox)."""
        self.cloud = cloud
        self.entry_id = entry_id
        cloud.on_change = self._async_update_issue
        cloud.on_status = self._async_status
        await cloud.start()
        self._async_link_replaced()

    async def async_detach(self) -> None:
        """The account entry unloads: keep the outbox, close the link."""
        cloud, self.cloud = self.cloud, None
        if cloud is not None:
            await cloud.close()
        self._async_link_replaced()

    # The Q.rads' side.

    async def async_submit(
        self, serial: str, heating: Heating, origin: Origin
    ) -> Setpoint:
        """Forward a setpoint: durable at once, delivered when the cloud is there."""
        await self.async_load()
        if self.cloud is not None:
            setpoint = await self.cloud.submit(serial, heating, origin)
        else:
            setpoint = await self.outbox.add(serial, heating, origin)
        LOGGER.debug("setpoint %s #%d for %s", serial, setpoint.seq, self.account)
        if self.cloud is None:
            # Without a link, a waiting setpoint is what makes the cloud missed.
            self._async_update_issue()
        return setpoint

    async def async_submit_plan(
        self,
        serial: str,
        changes: tuple[PlannedChange, ...],
        *,
        source: PlanSource,
        valid_for: timedelta = PLAN_VALIDITY,
    ) -> Plan:
        """Forward a plan (6.11) the same way; ValueError if it breaks the protocol."""
        await self.async_load()
        if self.cloud is not None:
            plan = await self.cloud.submit_plan(
                serial, changes, source=source, valid_for=valid_for
            )
        else:
            plan = await self.outbox.add_plan(
                serial, changes, source=source, valid_for=valid_for
            )
        self.plans[serial] = plan
        LOGGER.debug("plan %s #%d for %s", serial, plan.seq, self.account)
        return plan

    def latest(self, serial: str) -> Setpoint | None:
        """The latest setpoint known for `serial` (sent, or read back)."""
        return self.outbox.latest.get(serial)

    def status(self, serial: str) -> ComputeStatus | None:
        """The controller's latest word on `serial`."""
        return self.cloud.statuses.get(serial) if self.cloud else None

    @property
    def connected(self) -> bool:
        """Whether the cloud link is up."""
        return self.cloud is not None and self.cloud.connected

    @property
    def cloud_gone(self) -> bool:
        """The cloud cannot act: its broker is unreachable or its controller is off.

        Without an attached link, only setpoints waiting for it make it missed.
        """
        if self.cloud is None:
            return bool(self.outbox.pending)
        return not self.cloud.connected or self.cloud.controller_online is False

    # Reactions.

    @callback
    def _async_status(self, status: ComputeStatus) -> None:
        async_dispatcher_send(self.hass, status_signal(self.account, status.serial))

    @callback
    def _async_link_replaced(self) -> None:
        """A link came or went: statuses appear or vanish for every Q.rad."""
        self._async_update_issue()
        async_dispatcher_send(self.hass, link_signal(self.account))

    @callback
    def _async_update_issue(self) -> None:
        """Keep the repair issue true to whether the cloud can act."""
        if self.cloud_gone:
            if self._issue_timer is None:
                delay = (
                    self.issue_delay_s
                    if self.issue_delay_s is not None
                    else CLOUD_ISSUE_DELAY_S
                )
                self._issue_timer = self._async_later(delay)
        else:
            if self._issue_timer is not None:
                self._issue_timer()
                self._issue_timer = None
            async_delete_issue(self.hass, self.issue_id)

    def _async_later(self, delay: float) -> CALLBACK_TYPE:
        return async_call_later(
            self.hass,
            delay,
            HassJob(
                self._async_raise_issue, "qrad cloud issue", cancel_on_shutdown=True
            ),
        )

    @callback
    def _async_raise_issue(self, _now: datetime) -> None:
        self._issue_timer = None
        if not self.cloud_gone or self.entry_id is None:
            return
        delay = (
            self.issue_delay_s
            if self.issue_delay_s is not None
            else CLOUD_ISSUE_DELAY_S
        )
        async_raise_issue(
            self.hass,
            self.entry_id,
            self.issue_id,
            "cloud_unreachable",
            {
                "account": self.account,
                "waiting": str(len(self.outbox.pending)),
                "minutes": f"{delay / 60:g}",
            },
        )


@callback
def async_get_hub(hass: HomeAssistant, account: str) -> AccountHub:
    """The hub of `account`, created on first use."""
    hubs = hass.data.setdefault(DATA_HUBS, {})
    if account not in hubs:
        hubs[account] = AccountHub(hass, account)
    return hubs[account]
