"""TLS to the cloud: the broker's certificate is verified unless the user opts out."""

from __future__ import annotations

import pytest

from custom_components.qrad.api import QradConnectionError
from custom_components.qrad.api.cloud import QradCloud
from custom_components.qrad.api.outbox import MemoryStore, Outbox
from simulator.testing import CloudWorld


@pytest.fixture
def broker_kind() -> str:
    """The reference broker."""
    return "mosquitto"


def client(world: CloudWorld, **tls: object) -> QradCloud:
    """The cloud client of the first account, with the given TLS settings."""
    account, secret = world.account_of(world.fleet.units[0])
    return QradCloud(
        world.endpoint.host,
        world.endpoint.port,
        account,
        secret,
        outbox=Outbox(MemoryStore()),
        **tls,  # type: ignore[arg-type]
    )


async def test_an_untrusted_broker_is_refused_by_default(
    cloud_world: CloudWorld,
) -> None:
    """A certificate no trusted authority signed: no connection, a clear error."""
    with pytest.raises(QradConnectionError, match=r"certificate"):
        await client(cloud_world).check_credentials()


async def test_the_operators_ca_makes_it_trusted(cloud_world: CloudWorld) -> None:
    """With the CA the operator gave, the same broker is accepted."""
    assert cloud_world.endpoint.ca is not None
    ca = cloud_world.endpoint.ca.read_text()
    await client(cloud_world, ca_data=ca).check_credentials()


async def test_turning_verification_off_is_an_explicit_choice(
    cloud_world: CloudWorld,
) -> None:
    """Only `verify_tls=False` accepts the untrusted certificate."""
    await client(cloud_world, verify_tls=False).check_credentials()
