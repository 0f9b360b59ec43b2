"""Rate limits counted in Redis (REDIS_URL) hold across separate web servers, as they would across
machines; the embedded default (a SQLite file) is shared by one machine's processes only."""

from contextlib import ExitStack

from tests.backend.services import gunicorn


def test_rate_limits_in_redis_hold_across_two_web_servers(tmp_path, zoo_dir, redis_server):
    redis_server.client(3).flushdb()
    settings = {
        "WEB_CONCURRENCY": "1",
        "RATELIMIT_STORAGE_URI": "",
        "REDIS_URL": f"{redis_server.url}/3",
        "RATELIMIT_DEFAULT": "10/minute",
    }
    with ExitStack() as stack:
        servers = []
        for name in ("a", "b"):  # each its own folder and database: only Redis is shared
            (tmp_path / name).mkdir()
            servers.append(stack.enter_context(gunicorn(tmp_path / name, zoo_dir, **settings)))
        # Turn about: with limits per process or per machine, each server would let 10 through.
        turns = [servers[i % 2] for i in range(30)]
        answers = [server.session.get(f"{server.url}/api/v1/styles", timeout=30).status_code for server in turns]
    assert answers == [200] * 10 + [429] * 20
    assert redis_server.client(3).keys("LIMITS*")  # counted in Redis
