"""Check that ``listen serve`` can bind its address, before anything is started."""

from __future__ import annotations

import errno
import socket

from service.errors import ListenError

_HOW = "choose another with --port (or LISTEN_PORT)"


def check_bindable(host: str, port: int) -> None:
    """Raise :class:`ListenError` naming the port when ``host:port`` cannot be bound.

    The server itself would find out only after starting its workers, and then
    say so in ten lines over five seconds of retries.
    """
    if not 0 <= port <= 65535:
        raise ListenError(f"port {port} is out of range (0 to 65535)")
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError):
        raise ListenError(f"cannot serve on {host}: the name does not resolve") from None
    family, kind, protocol, _name, address = infos[0]
    with socket.socket(family, kind, protocol) as probe:
        # as the server does, so that a port whose old connections linger is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise ListenError(_bind_failure(host, port, error)) from None


def _bind_failure(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use; {_HOW}"
    if error.errno == errno.EACCES:
        return f"port {port} on {host} needs privileges this user lacks; {_HOW}"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot serve on {host}: it is not an address of this machine"
    return f"cannot serve on {host} port {port}: {error.strerror or error}"
