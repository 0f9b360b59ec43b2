"""Runs the backend tests' fake WeChat API server (tests/backend/fakewechat.py) until stdin closes;
prints its URL first."""

import sys

from tests.backend.fakewechat import FakeWeChat

server = FakeWeChat().start()
print(server.url, flush=True)
sys.stdin.read()
server.stop()
