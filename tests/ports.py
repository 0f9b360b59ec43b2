"""Free loopback ports for the servers that the Python tests start, one home for all of them.

A port is free when the probe binds it, and taken again when the server binds it later. `make
test` runs pytest-xdist workers (`PYTEST_WORKERS`), so each worker takes the ports of its own
remainder modulo the number of workers: two workers never pick the same port in that gap. The
ports lie below Linux's ephemeral range (32768 and up), which outgoing connections take theirs
from, and are drawn by a generator of their own (tests seed `random` for training runs)."""

import os
import random
import socket

LOWEST, HIGHEST = 20000, 32767
_draw = random.SystemRandom()


def free_port():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # gw0, gw1, ...; gw0 without xdist
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker.removeprefix("gw"))
    for _ in range(200):
        port = _draw.randrange(LOWEST + index, HIGHEST, workers)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port between {LOWEST} and {HIGHEST}")
