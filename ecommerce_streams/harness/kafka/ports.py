"""Choosing and checking the TCP ports our embedded services listen on."""

import errno
import random
import socket
from pathlib import Path

from ecommerce_streams.harness.kafka.errors import BrokerError
from ecommerce_streams.harness.kafka.server_config import LOOPBACK

LOCAL_PORT_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LISTEN_FLOOR = 10000  # below it lie the well-known services' ports
MIN_LISTENING_PORTS = 1000
PORT_ATTEMPTS = 200
_HANDED_OUT: set[int] = set()  # ports this process chose, which may not be bound yet


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Return whether a listener could bind host:port now (as the JVM would, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def require_free_port(port: int, env_variable: str, purpose: str) -> None:
    """Raise BrokerError naming the port and env_variable if the port is already taken."""
    if not port_is_free(port):
        raise BrokerError(
            f"Port {port} on {LOOPBACK} (the Kafka {purpose} port) is taken by another "
            f"process: stop that process, or choose another port with {env_variable}."
        )


def outgoing_port_range(source: Path = LOCAL_PORT_RANGE) -> range:
    """The local ports the kernel gives outgoing connections (Linux's setting, else IANA's)."""
    try:
        low, high = (int(bound) for bound in source.read_text().split())
    except (OSError, ValueError):
        return range(49152, 65536)
    return range(low, high + 1)


def listening_port_range(outgoing: range | None = None) -> range:
    """Ports for our listeners: the larger side of the outgoing range, from 10000 up.

    A port the kernel may hand an outgoing connection can be taken while nothing listens
    on it: a client retrying a stopped broker's port gets that very port as its own and
    connects to itself, and the broker then cannot bind it again. Outside the outgoing
    range that cannot happen.
    """
    outgoing = outgoing_port_range() if outgoing is None else outgoing
    below = range(LISTEN_FLOOR, max(outgoing.start, LISTEN_FLOOR))
    above = range(min(outgoing.stop, 65536), 65536)
    return max(below, above, key=len)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on host that nothing holds now, outside the outgoing connections' range."""
    return free_port_block(1, host)


def free_port_block(count: int, host: str = LOOPBACK) -> int:
    """A port p with p .. p+count-1 all free now and outside the outgoing range."""
    ports = listening_port_range()
    if len(ports) < MIN_LISTENING_PORTS:
        raise BrokerError(
            f"only {len(ports)} ports lie outside the outgoing range "
            f"{outgoing_port_range()} ({LOCAL_PORT_RANGE}); widen the gap to choose ports"
        )
    for _ in range(PORT_ATTEMPTS):
        base = random.randrange(ports.start, ports.stop - count + 1)
        block = range(base, base + count)
        if not _HANDED_OUT.intersection(block) and all(port_is_free(p, host) for p in block):
            _HANDED_OUT.update(block)
            return base
    raise BrokerError(f"no {count} free ports in a row in {ports} on {host}")
