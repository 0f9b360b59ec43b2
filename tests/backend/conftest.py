"""Fixtures of the backend tests: a tiny model zoo, a fake WeChat server, the app and its client
(pytest-flask's `client` fixture uses `app`)."""

import pytest

from backend import create_app
from modelzoo.tinyzoo import build_tiny_zoo
from tests.backend.fakewechat import FakeWeChat


@pytest.fixture(scope="session")
def zoo_dir(tmp_path_factory):
    return build_tiny_zoo(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="session")
def wechat_server():
    server = FakeWeChat().start()
    yield server
    server.stop()


@pytest.fixture
def wechat(wechat_server):
    wechat_server.reset()
    return wechat_server


@pytest.fixture
def make_app(tmp_path, zoo_dir, wechat):
    """`make_app(**settings)`: an app on this test's database and folders; its job runner is
    stopped after the test. By default: development mode, WeChat not configured."""
    apps = []

    def make(**settings):
        config = {
            "TESTING": True,
            "APP_ENV": "development",
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'backend.sqlite'}",
            "RESULTS_DIR": str(tmp_path / "results"),
            "RATELIMIT_STORAGE_URI": f"sqlite:///{tmp_path / 'ratelimits.sqlite'}",
            "MODELZOO_DIR": str(zoo_dir),
            "WECHAT_API_BASE": wechat.url,
            "WECHAT_TIMEOUT": 0.5,
            "WORKER_HEARTBEAT_SECONDS": 0.2,
            **settings,
        }
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        if "jobs" in app.extensions:
            app.extensions["jobs"].shutdown()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def wechat_app(make_app):
    """An app in production mode with WeChat configured against the fake server."""
    return make_app(
        APP_ENV="production",
        WECHAT_APPID="wx-test-app",
        WECHAT_SECRET="APP-SECRET-VALUE",
        WECHAT_PUSH_TOKEN="push-token",
        PUBLIC_BASE_URL="https://cartoon.example",
    )
