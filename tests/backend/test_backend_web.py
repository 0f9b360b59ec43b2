"""The web app's side of the backend: the page at `/`, the share page, anonymous tokens."""

import re
from urllib.parse import urlsplit

from tests.backend.helpers import finished_job, submit

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def anonymous_login(client, address="203.0.113.7"):
    response = client.post("/api/v1/auth/anonymous", environ_base={"REMOTE_ADDR": address})
    return response


def bearer(response):
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_page_and_service_worker_come_from_web_dir(make_app, tmp_path):
    web_dir = tmp_path / "dist"
    web_dir.mkdir()
    (web_dir / "index.html").write_text("<!doctype html><title>page</title>")
    (web_dir / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    (web_dir / "manifest.webmanifest").write_text('{"name": "x"}')
    (web_dir / "web").mkdir()
    (web_dir / "web" / "app.js").write_text("console.log(1)")
    client = make_app(WEB_DIR=str(web_dir)).test_client()
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html" and b"<title>page</title>" in page.data
    assert client.get("/sw.js").mimetype == "text/javascript"
    assert client.get("/manifest.webmanifest").mimetype == "application/manifest+json"
    assert client.get("/web/app.js").data == b"console.log(1)"
    (tmp_path / "secret.txt").write_text("outside WEB_DIR")
    assert client.get("/web/../../secret.txt").status_code == 404
    assert client.get("/web/%2e%2e/%2e%2e/secret.txt").status_code == 404
    assert client.get("/web/missing.js").status_code == 404


def test_page_not_built_says_how_to_build_it(make_app, tmp_path):
    answer = make_app(WEB_DIR=str(tmp_path / "nothing")).test_client().get("/")
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "web_not_built"
    assert "make install" in answer.get_json()["error"]["message"]


def test_anonymous_users_are_distinct_and_limited_per_address(make_app):
    client = make_app(RATELIMIT_ANONYMOUS="2/hour").test_client()
    first, second = bearer(anonymous_login(client)), bearer(anonymous_login(client))
    assert first != second
    assert client.get("/api/v1/styles", headers=first).status_code == 200
    refused = anonymous_login(client)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert anonymous_login(client, address="203.0.113.8").status_code == 200  # another address


def test_anonymous_quota_is_the_smaller_one(make_app):
    client = make_app(JOB_DAILY_QUOTA=5, JOB_DAILY_QUOTA_ANONYMOUS=1).test_client()
    visitor = bearer(anonymous_login(client))
    job = finished_job(client, visitor)
    refused = submit(client, visitor)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "quota_exceeded"
    assert "1 server" in refused.get_json()["error"]["message"]
    # Results and share links work as for WeChat users.
    share = client.post(f"/api/v1/results/{job['result']['id']}/share", headers=visitor)
    assert share.status_code == 201


def test_share_link_is_a_page_for_browsers_and_a_picture_otherwise(app, client):
    visitor = bearer(anonymous_login(client))
    job = finished_job(client, visitor)
    share = client.post(f"/api/v1/results/{job['result']['id']}/share", headers=visitor).get_json()
    page_path, image_path = urlsplit(share["url"]).path, urlsplit(share["image_url"]).path
    assert image_path == page_path + "/image"

    page = client.get(page_path, headers={"Accept": BROWSER_ACCEPT, "Accept-Language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    og = dict(re.findall(r'<meta property="og:([a-z:]+)" content="([^"]*)"', html))
    assert og["image"] == share["image_url"] and og["url"] == share["url"]
    assert og["image:width"] == str(job["result"]["width"])
    assert f'src="{share["image_url"]}"' in html and 'href="http://localhost/"' in html
    assert 'lang="zh-CN"' in html
    english = client.get(page_path, headers={"Accept": BROWSER_ACCEPT, "Accept-Language": "en-US"})
    assert 'lang="en"' in english.get_data(as_text=True)

    for path, accept in ((page_path, "*/*"), (page_path, "image/*"), (image_path, BROWSER_ACCEPT)):
        picture = client.get(path, headers={"Accept": accept})
        assert picture.status_code == 200 and picture.mimetype == "image/png", (path, accept)
        assert picture.data.startswith(b"\x89PNG")

    assert client.delete(f"/api/v1/results/{job['result']['id']}", headers=visitor).status_code == 204
    assert client.get(page_path, headers={"Accept": BROWSER_ACCEPT}).status_code == 404
    assert client.get(image_path).status_code == 404


def test_the_plan_treats_a_browser_like_a_phone(client):
    """The web app sends platform "web", navigator.deviceMemory in MB and an unknown benchmark level."""
    browser = {"style": "tiny", "platform": "web", "memorySize": 8192, "benchmarkLevel": -1, "maxTextureSize": 8192}
    answer = client.post("/api/v1/plan", json={**browser, "photo": {"width": 640, "height": 480}}).get_json()
    assert answer["where"] == "device" and answer["variant"] == "float16", answer
    small = client.post("/api/v1/plan", json={**browser, "memorySize": 2048, "photo": {"width": 640, "height": 480}})
    assert small.get_json()["where"] == "server"
