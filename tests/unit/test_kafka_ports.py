"""The ports our embedded services listen on cannot be taken by an outgoing connection."""

import socket
from pathlib import Path

import pytest

from ecommerce_streams.harness.kafka.errors import BrokerError
from ecommerce_streams.harness.kafka.ports import (
    free_port,
    free_port_block,
    listening_port_range,
    outgoing_port_range,
    port_is_free,
)


def connects_to_itself(port: int, attempts: int) -> bool:
    """Whether a client retrying a port nothing listens on ever got that port as its own."""
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            try:
                client.connect(("127.0.0.1", port))
            except ConnectionRefusedError:
                continue
            if client.getsockname()[1] == port:
                return True
    return False


def test_chosen_ports_lie_outside_the_range_outgoing_connections_take_theirs_from() -> None:
    outgoing = outgoing_port_range()
    chosen = [free_port() for _ in range(50)] + [free_port_block(6) + n for n in range(6)]

    assert not [port for port in chosen if port in outgoing]
    assert all(1024 < port < 65536 for port in chosen)


def test_a_client_retrying_a_chosen_port_nothing_listens_on_never_connects_to_itself() -> None:
    # Linux gives connect() even local ports first: retrying an even port inside the
    # outgoing range lands on it within one sweep of the range and holds it.
    base = free_port_block(2)
    even = base if base % 2 == 0 else base + 1

    assert not connects_to_itself(even, attempts=len(outgoing_port_range()))
    assert port_is_free(even)


def test_one_process_never_hands_out_a_port_twice() -> None:
    ports = [free_port() for _ in range(200)]

    assert len(set(ports)) == len(ports)


def test_the_listening_range_is_the_larger_side_of_the_outgoing_range_above_the_floor() -> None:
    assert listening_port_range(range(32768, 61000)) == range(10000, 32768)
    assert listening_port_range(range(10000, 50000)) == range(50000, 65536)
    assert listening_port_range(range(1024, 65536)) == range(10000, 10000)


def test_the_outgoing_range_is_read_from_the_kernel_setting_or_else_ianas(tmp_path: Path) -> None:
    setting = tmp_path / "ip_local_port_range"
    setting.write_text("20000\t40000\n")

    assert outgoing_port_range(setting) == range(20000, 40001)
    assert outgoing_port_range(tmp_path / "absent") == range(49152, 65536)


def test_no_room_outside_the_outgoing_range_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ecommerce_streams.harness.kafka import ports

    monkeypatch.setattr(ports, "listening_port_range", lambda: range(10000, 10010))

    with pytest.raises(BrokerError, match="only 10 ports lie outside the outgoing range"):
        free_port()
