"""The embedded MQTT broker (amqtt): the demo's cloud needs nothing installed.

It enforces the same rules as the mosquitto configuration (`access.py`) through
an amqtt plugin, and keeps its retained messages in a file across a clean
restart, as mosquitto does with persistence on.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
import json
import logging
from pathlib import Path
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action, BaseContext
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from .access import AccessRules, Directory
from .endpoint import BrokerEndpoint, TlsFiles

_LOGGER = logging.getLogger(__name__)


class AccessPlugin(BaseAuthPlugin, BaseTopicPlugin):
    """Authentication and ACL of docs/protocol.md 6.7 inside amqtt."""

    @dataclass
    class Config:
        """Where the registry of identities is."""

        directory_path: str

    def __init__(self, context: BaseContext) -> None:
        """Load the registry once."""
        super().__init__(context)
        self.rules = AccessRules(Directory.load(Path(self.config.directory_path)))

    async def authenticate(self, *, session: Session) -> bool | None:
        """Refuse unknown identities and wrong secrets at CONNECT."""
        allowed = self.rules.authenticate(session.username, session.password)
        if not allowed:
            _LOGGER.info("refused connection of %r", session.username)
        return allowed

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        """Apply the ACL to publishes, subscriptions and deliveries."""
        if session is None or session.username is None or topic is None:
            return False
        if action == Action.PUBLISH:
            return self.rules.may_publish(session.username, topic)
        if action == Action.SUBSCRIBE:
            return self.rules.may_subscribe(session.username, topic)
        return self.rules.may_receive(session.username, topic)


class _Broker(Broker):
    """amqtt's broker, without its leak of retained messages.

    On every new connection amqtt 0.12.1 sends the newcomer the retained
    messages of every filter that any client subscribed to, bypassing the ACL
    (an account would read other accounts' status). Retained messages are only
    sent for filters the session itself holds, which the ACL has admitted.
    """

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Session
    ) -> None:
        topic_filter = subscription[0]
        holders = self._subscriptions.get(topic_filter, [])
        if any(holder.client_id == session.client_id for holder, _ in holders):
            await super()._publish_retained_messages_for_subscription(
                subscription, session
            )


class EmbeddedBroker:
    """amqtt on `host:port`, optionally with TLS, for one directory."""

    def __init__(
        self,
        directory: Directory,
        workdir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        tls: TlsFiles | None = None,
    ) -> None:
        """Configure; nothing runs until `start`."""
        self.endpoint = BrokerEndpoint(host=host, port=port, ca=tls.ca if tls else None)
        self._tls = tls
        self._workdir = workdir
        self._directory_path = workdir / "directory.json"
        self._retained_path = workdir / "retained.json"
        workdir.mkdir(parents=True, exist_ok=True)
        directory.save(self._directory_path)
        self._broker: _Broker | None = None

    async def start(self) -> None:
        """Listen, with the retained messages of the last clean stop."""
        listener: dict[str, Any] = {
            "type": "tcp",
            "bind": f"{self.endpoint.host}:{self.endpoint.port}",
        }
        if self._tls is not None:
            listener |= {
                "ssl": True,
                "certfile": str(self._tls.cert),
                "keyfile": str(self._tls.key),
            }
        self._broker = _Broker(
            {
                "listeners": {"default": listener},
                "plugins": {
                    f"{__name__}.AccessPlugin": {
                        "directory_path": str(self._directory_path)
                    }
                },
            }
        )
        await self._broker.start()
        if self._retained_path.exists():
            for topic, (data, qos) in json.loads(
                self._retained_path.read_text()
            ).items():
                await self._broker.retain_message(
                    None, topic, base64.b64decode(data), qos
                )

    async def stop(self) -> None:
        """Save the retained messages and stop."""
        if self._broker is None:
            return
        # amqtt exposes retained messages only to plugins; read them directly.
        messages = self._broker._retained_messages  # noqa: SLF001
        retained = {
            topic: (base64.b64encode(bytes(message.data)).decode(), message.qos)
            for topic, message in messages.items()
        }
        self._retained_path.write_text(json.dumps(retained))
        await self._broker.shutdown()
        self._broker = None
