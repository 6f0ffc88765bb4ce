"""The cloud client reads the controller's messages as section 1 asks, over MQTT.

A raw peer with the controller's identity publishes what a newer controller
might: fields and enum values this client does not know.
"""

from __future__ import annotations

import asyncio
import json

from custom_components.qrad.api.cloud import QradCloud
from custom_components.qrad.api.cloud_models import HeatSource
from custom_components.qrad.api.outbox import MemoryStore, Outbox
from simulator.cloud.access import CONTROLLER
from simulator.cloud.link import make_client
from simulator.testing import CloudWorld


async def test_a_status_with_unknown_fields_and_values_is_read(
    cloud_world: CloudWorld,
) -> None:
    """Unknown fields are ignored and an unknown heat source is `unknown`."""
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, secret = cloud_world.account_of(unit)
    ca = cloud_world.endpoint.ca
    assert ca is not None
    outbox = Outbox(MemoryStore())
    await outbox.load()
    cloud = QradCloud(
        cloud_world.endpoint.host,
        cloud_world.endpoint.port,
        account,
        secret,
        outbox=outbox,
        ca_data=ca.read_text(),
    )
    await cloud.connect()
    status = {
        "serial": serial,
        "setpoint_seq": 0,
        "power_target_w": 380.0,
        "jobs_running": 3,
        "gflops": 456.0,
        "heat_share": 0.82,
        "heat_source": "geothermal",
        "energy_kwh": 12.48,
        "reimbursed_eur": 123.45,
        "room_temperature": 19.6,
        # Later than any the running controller sends, so that it stays the latest.
        "updated_at": "2100-01-01T00:00:00Z",
        "weather": {"outdoor": 4.5},
    }
    peer = make_client(
        cloud_world.endpoint,
        username=CONTROLLER,
        password=cloud_world.directory.controller_secret,
        identifier="controller-test",
    )
    try:
        async with peer:
            await peer.publish(
                f"qrad/v1/acct/{account}/{serial}/status", json.dumps(status), qos=1
            )
            async with asyncio.timeout(5):
                while (got := cloud.statuses.get(serial)) is None or (
                    got.reimbursed_eur != 123.45
                ):
                    await asyncio.sleep(0.02)
    finally:
        await cloud.close()
    assert got is not None
    assert got.heat_source is HeatSource.UNKNOWN
    assert got.power_target_w == 380.0
