"""What a replica that is not ready listens on, and what that says (issue 18)."""

from __future__ import annotations

from deis.runtime.listening import Diagnosis, diagnose, parse_proc_net_tcp

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1388 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0200C70A:0BB8 0100C70A:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 3 1
"""
TCP6 = """\
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A
   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A
"""


def test_listening_sockets_are_read_from_proc_net_tcp() -> None:
    assert parse_proc_net_tcp(TCP) == [("0.0.0.0", 3000), ("127.0.0.1", 5000)]
    assert parse_proc_net_tcp(TCP6) == [("::", 8080), ("::1", 8081)]
    assert parse_proc_net_tcp("header only\n") == []


def test_listening_on_port_on_every_address_is_fine() -> None:
    assert diagnose("web", 5000, [("0.0.0.0", 5000)]) is None
    assert diagnose("web", 5000, [("::", 5000), ("127.0.0.1", 9000)]) is None


def test_listening_on_another_port() -> None:
    assert diagnose("web", 5000, [("0.0.0.0", 3000)]) == Diagnosis(
        "web listens on 3000, but $PORT is 5000", wrong=True
    )
    assert diagnose("web", 5000, [("0.0.0.0", 3000), ("::", 9229)]) == Diagnosis(
        "web listens on 3000, 9229, but $PORT is 5000", wrong=True
    )


def test_listening_on_the_loopback_only() -> None:
    assert diagnose("web", 5000, [("127.0.0.1", 5000)]) == Diagnosis(
        "web listens on 127.0.0.1:5000 only, which the router cannot reach:"
        " listen on 0.0.0.0:$PORT",
        wrong=True,
    )


def test_listening_nowhere() -> None:
    assert diagnose("web", 5000, []) == Diagnosis(
        "web listens on no TCP port yet (it must listen on $PORT, 5000)", wrong=False
    )
