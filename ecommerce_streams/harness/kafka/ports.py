"""Checks that the TCP ports the broker will listen on are free."""

import errno
import socket

from ecommerce_streams.harness.kafka.errors import BrokerError
from ecommerce_streams.harness.kafka.server_config import LOOPBACK


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


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port on host that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def free_port_block(count: int, host: str = LOOPBACK) -> int:
    """A port p with p .. p+count-1 all free now (a cluster's client and controller ports)."""
    for _ in range(100):
        base = free_port(host)
        if base + count < 65536 and all(port_is_free(base + n, host) for n in range(count)):
            return base
    raise BrokerError(f"no {count} free ports in a row on {host}")
