"""The cloud in one piece: a broker (embedded unless given one) and the controller."""

from __future__ import annotations

import asyncio
from pathlib import Path

from simulator.clock import Clock

from .access import Directory
from .controller import Controller
from .embedded import EmbeddedBroker
from .endpoint import BrokerEndpoint, TlsFiles
from .scheduler import DEFAULT_TARIFF_EUR_PER_KWH
from .trace import Trace

# Long enough for a TLS connection on a loaded 2-core machine (20 s was not, once
# in the end-to-end tests), short enough that a wrong broker address is told.
CONNECT_TIMEOUT_S = 60.0


class CloudService:
    """Start and stop the operator's cloud for one directory of identities."""

    def __init__(  # noqa: PLR0913 (configuration, by keyword)
        self,
        directory: Directory,
        clock: Clock,
        workdir: Path,
        *,
        external: BrokerEndpoint | None = None,
        host: str = "127.0.0.1",
        port: int = 1883,
        tls: TlsFiles | None = None,
        tariff_eur_per_kwh: float = DEFAULT_TARIFF_EUR_PER_KWH,
        books_from_meter: bool = False,
        policy: str = "pi",
        trace: Trace | None = None,
        worker: int = 1,
        shared_group: str | None = None,
    ) -> None:
        """Use the broker at `external`, or run an embedded one on `host:port`."""
        self.broker = (
            None
            if external is not None
            else EmbeddedBroker(directory, workdir, host=host, port=port, tls=tls)
        )
        self.endpoint = external or BrokerEndpoint(
            host=host, port=port, ca=tls.ca if tls else None
        )
        self.controller = Controller(
            directory,
            self.endpoint,
            clock,
            tariff_eur_per_kwh=tariff_eur_per_kwh,
            books_from_meter=books_from_meter,
            policy=policy,
            trace=trace,
            worker=worker,
            shared_group=shared_group,
        )

    async def start(self) -> None:
        """Broker first, then the controller, connected before this returns."""
        if self.broker is not None:
            await self.broker.start()
        await self.controller.start()
        await asyncio.wait_for(self.controller.connected.wait(), CONNECT_TIMEOUT_S)

    async def stop(self) -> None:
        """Controller first, so that its last will reaches the broker."""
        await self.controller.stop()
        if self.broker is not None:
            await self.broker.stop()
