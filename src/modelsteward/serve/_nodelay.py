"""uvicorn's HTTP protocol with TCP_NODELAY set on every connection.

With ``--workers >= 2`` uvicorn hands the listening socket to worker processes in a way
that loses asyncio's default TCP_NODELAY, which adds ~40 ms (Nagle + delayed ACK) to
responses on keep-alive connections. Setting it per connection removes that trap.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.auto import AutoHTTPProtocol

__all__ = ["NoDelayHTTPProtocol"]


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """The auto-selected uvicorn HTTP protocol, with Nagle's algorithm switched off."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)
