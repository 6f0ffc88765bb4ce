"""Byte-for-byte TCP <-> unix socket forwarder (standard library only).

scripts/develop runs Home Assistant inside a private network namespace. Two
copies of this forwarder join it to the host: one inside the namespace
(`unix-to-tcp`: unix socket -> Home Assistant's 127.0.0.1:8123), one on the
host (`tcp-to-unix`: the host's 127.0.0.1:8123 -> that unix socket). A unix
socket is a file, so it crosses network namespaces without any route.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
import signal

CHUNK = 64 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.write_eof()


async def _serve_connection(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    target: str,
) -> None:
    try:
        if target.startswith("/"):
            up_reader, up_writer = await asyncio.open_unix_connection(target)
        else:
            host, port = target.rsplit(":", 1)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
    except OSError:
        client_writer.close()
        return
    try:
        await asyncio.gather(
            _pipe(client_reader, up_writer), _pipe(up_reader, client_writer)
        )
    finally:
        for writer in (client_writer, up_writer):
            writer.close()


def _remove_socket(path: str) -> None:
    """A stale socket file from an earlier run would block the listen."""
    Path(path).unlink(missing_ok=True)


async def _main(listen: str, target: str) -> None:
    def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> asyncio.Task[None]:
        return asyncio.ensure_future(_serve_connection(r, w, target))

    if listen.startswith("/"):
        _remove_socket(listen)
        server = await asyncio.start_unix_server(handler, listen)
    else:
        host, port = listen.rsplit(":", 1)
        server = await asyncio.start_server(
            handler, host, int(port), reuse_address=True
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    if listen.startswith("/"):
        _remove_socket(listen)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listen", help="HOST:PORT or /path/to/unix.sock to listen on")
    parser.add_argument("target", help="HOST:PORT or /path/to/unix.sock to connect to")
    args = parser.parse_args()
    asyncio.run(_main(args.listen, args.target))
