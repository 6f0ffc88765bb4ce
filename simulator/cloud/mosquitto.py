"""A real mosquitto broker in a child process, configured from `access.py`'s rules."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
import shutil

from .access import MOSQUITTO_ACL, Directory
from .endpoint import BrokerEndpoint, TlsFiles

SQLITE_PLUGIN = "mosquitto_persist_sqlite.so"
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin"])


class MosquittoNotFoundError(RuntimeError):
    """mosquitto is not installed."""


def _binary(name: str) -> str:
    found = shutil.which(name, path=SEARCH_PATH)
    if found is None:
        raise MosquittoNotFoundError(f"{name} not found: install the mosquitto package")
    return found


def _persistence(mosquitto: str) -> list[str]:
    """Persistence that keeps every acknowledged change across a crash.

    mosquitto 2.1's SQLite plugin commits and syncs each change at the next turn
    of the broker's loop, at a cost that does not grow with the database. Older
    brokers can only rewrite and sync their whole file after every change: paid
    per message and growing with the retained messages, it made a control
    period's work grow as the fleet squared. A time-based autosave would be
    cheap, but would lose the setpoints acknowledged in its last interval, and
    no client sends an acknowledged setpoint again.
    """
    prefix = Path(mosquitto).resolve().parent.parent
    # Debian's package, then a plain `make install`.
    found = (
        plugin
        for folder in ("lib*/*/mosquitto", "lib*/mosquitto", "lib*")
        for plugin in prefix.glob(f"{folder}/{SQLITE_PLUGIN}")
    )
    plugin = next(found, None)
    if plugin is None:
        return ["persistence true", "autosave_interval 1", "autosave_on_changes true"]
    return [
        f"global_plugin {plugin}",
        "plugin_opt_flush_period 0",
        "plugin_opt_sync full",
    ]


class Mosquitto:
    """mosquitto on `host:port` with password file, ACL and persistence.

    Its files live in `workdir`, so a `stop` then `start` is a broker restart
    that keeps retained and queued messages, as in production.
    """

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
        self._directory = directory
        self._workdir = workdir
        self._process: asyncio.subprocess.Process | None = None
        self._configured = False

    async def _configure(self) -> None:
        workdir = self._workdir
        workdir.mkdir(parents=True, exist_ok=True)
        passwords = workdir / "passwd"
        users = [
            "controller",
            *self._directory.accounts,
            *self._directory.units,
        ]
        passwords.write_text(
            "".join(f"{user}:{self._directory.secret(user)}\n" for user in users)
        )
        passwords.chmod(0o600)
        convert = await asyncio.create_subprocess_exec(
            _binary("mosquitto_passwd"), "-U", str(passwords)
        )
        if await convert.wait() != 0:
            raise RuntimeError("mosquitto_passwd could not hash the password file")
        (workdir / "acl").write_text(MOSQUITTO_ACL)
        lines = [
            "user root",
            "allow_anonymous false",
            f"password_file {passwords}",
            f"acl_file {workdir / 'acl'}",
            *_persistence(_binary("mosquitto")),
            f"persistence_location {workdir}/",
            # A controller (re)connecting is sent every retained setpoint and
            # status of the fleet at once: the default queue (1000 messages per
            # client) would drop the rest.
            "max_queued_messages 0",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            f"listener {self.endpoint.port} {self.endpoint.host}",
        ]
        if self._tls is not None:
            lines += [
                f"certfile {self._tls.cert}",
                f"keyfile {self._tls.key}",
            ]
        (workdir / "mosquitto.conf").write_text("\n".join(lines) + "\n")
        self._configured = True

    async def prepare(self) -> list[str]:
        """Write the configuration; the command that runs this broker."""
        if not self._configured:
            await self._configure()
        return [_binary("mosquitto"), "-c", str(self._workdir / "mosquitto.conf")]

    async def start(self) -> None:
        """Start mosquitto and wait until it accepts connections."""
        self._process = await asyncio.create_subprocess_exec(*await self.prepare())
        for _ in range(200):
            if self._process.returncode is not None:
                raise RuntimeError(f"mosquitto exited with {self._process.returncode}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(
                    self.endpoint.host, self.endpoint.port
                )
                writer.close()
                await writer.wait_closed()
                return
            await asyncio.sleep(0.025)
        raise RuntimeError("mosquitto did not start listening")

    async def stop(self) -> None:
        """Stop mosquitto cleanly."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def kill(self) -> None:
        """Kill mosquitto without letting it save anything: a crash."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
