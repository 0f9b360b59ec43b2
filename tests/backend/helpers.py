"""Helpers of the backend tests: logging in (as a developer or through WeChat), making images and
animated GIFs, submitting and waiting for jobs (or having them refused), uploading a picture made on
the phone, asking for a plan, changing a package of the tiny model zoo, and WeChat's content check
(waiting for its submission, a verdict through the signed message push)."""

import hashlib
import io
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from backend.extensions import db
from backend.models import Job, Result, utcnow
from modelzoo import manifest

# A capable phone asking where to stylize a 3000x4000 photo of the tiny style.
PHONE = {
    "style": "tiny",
    "memorySize": 4096,
    "benchmarkLevel": 30,
    "platform": "android",
    "maxTextureSize": 4096,
    "photo": {"width": 3000, "height": 4000},
}


def plan(client, **changes):
    response = client.post("/api/v1/plan", json={**PHONE, **changes})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def rewrite_manifest(zoo, data):
    """Writes the changed manifest `data` of a package of the model zoo `zoo` with the model zoo's
    own code: checked against its schema, and the catalogue's entry updated with it."""
    manifest.write_package_manifest(zoo, Path(zoo) / data["id"] / data["version"], data)


def dev_login(client, openid="alice"):
    response = client.post("/api/v1/auth/dev-login", json={"openid": openid})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def image_bytes(size=(64, 48), mode="RGB", fmt="PNG", color=None, **save):
    image = Image.new(mode, size, color if color is not None else (0 if mode in ("1", "L", "P", "I;16") else None))
    if mode == "RGB" and color is None:
        image = Image.linear_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


DURATIONS = [80, 200, 40]  # of each frame of `pillow_gif`'s GIFs, in ms


def frames(count=3, size=(40, 30)):
    """Distinct frames: a horizontal gradient tinted differently in each."""
    ramp = np.linspace(0, 255, size[0], dtype=np.float64)[None, :, None]
    pictures = []
    for index in range(count):
        tint = np.array([255 * (index % 2), 120, 255 * (index % 3 == 0)], dtype=np.float64)
        rgb = np.broadcast_to(ramp * 0.6 + tint * 0.4, (size[1], size[0], 3))
        pictures.append(Image.fromarray(rgb.astype(np.uint8), "RGB"))
    return pictures


def pillow_gif(pictures, durations=DURATIONS, **save):
    """A GIF as other software writes it (Pillow: delta frames, transparency)."""
    buffer = io.BytesIO()
    pictures[0].save(buffer, "GIF", save_all=True, append_images=pictures[1:], duration=durations, **save)
    return buffer.getvalue()


def described(data):
    """`(frame count, durations, loop or None, size)` of GIF bytes."""
    with Image.open(io.BytesIO(data)) as image:
        durations = [frame.info.get("duration", 0) for frame in ImageSequence.Iterator(image)]
        return image.n_frames, durations, image.info.get("loop"), image.size


def upload(client, headers, data=None, style="tiny"):
    """A picture made on the phone, uploaded (POST /api/v1/results)."""
    form = {"style": style, "image": (io.BytesIO(image_bytes((40, 30)) if data is None else data), "picture.png")}
    return client.post("/api/v1/results", data=form, headers=headers, content_type="multipart/form-data")


def submit(client, headers, data=None, style="tiny", long_side=None, filename="photo.png", model=None):
    form = {"style": style, "image": (io.BytesIO(image_bytes() if data is None else data), filename)}
    if long_side is not None:
        form["long_side"] = str(long_side)
    if model is not None:
        form["model"] = model
    return client.post("/api/v1/jobs", data=form, headers=headers, content_type="multipart/form-data")


def refused(client, data, filename="photo.jpg"):
    """`(status, error code)` of a job refused (a 4xx JSON error) for the upload `data`."""
    response = submit(client, dev_login(client), data=data, filename=filename)
    assert 400 <= response.status_code < 500, response.status_code
    assert response.is_json
    return response.status_code, response.get_json()["error"]["code"]


def wait_job(client, headers, job_id, timeout=30.0):
    """The job once finished. Polled as a client does: every 0.05 s at first, then less often, up
    to every 0.5 s, which keeps a long wait under the requests' rate limit (RATELIMIT_DEFAULT)."""
    deadline, pause = time.monotonic() + timeout, 0.05
    while time.monotonic() < deadline:
        response = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, (response.status_code, response.get_json())
        job = response.get_json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(pause)
        pause = min(0.5, pause * 1.5)
    raise AssertionError(f"job {job_id} not finished after {timeout} s: {job}")


def job_row(app, job_id):
    """What the database holds of a job: its status, attempts, number of results, worker and the
    number of the message that ran it (backend.execution.resend_lost)."""
    with app.app_context():
        job = db.session.get(Job, job_id)
        results = db.session.scalar(db.select(db.func.count(Result.id)).where(Result.job_id == job_id))
        row = {"status": job.status, "attempts": job.attempts, "results": results, "worker_id": job.worker_id}
        return {**row, "dispatch": job.dispatch}


def finished_job(client, headers, **kwargs):
    response = submit(client, headers, **kwargs)
    assert response.status_code == 202, response.get_json()
    job = wait_job(client, headers, response.get_json()["id"])
    assert job["status"] == "done", job
    return job


# A job that keeps a worker busy for seconds: the tiny network on a 4096x4096 photo, stylized whole
# (submit it with long_side="original").
LONG_JOB = {"JOB_MAX_UNTILED_LONG_SIDE": 4096, "INFERENCE_TILE": 0}


def long_photo():
    return image_bytes((4096, 4096))


def expire(app, result_id, days=1):
    """Makes a result expired `days` ago and its job 30 days old (past the uploads' horizon);
    returns `(result key, upload key)`."""
    with app.app_context():
        result = db.session.get(Result, result_id)
        result.expires_at = utcnow() - timedelta(days=days)
        result.job.created_at = utcnow() - timedelta(days=30)
        db.session.commit()
        return result.path, result.job.source_path


PUSH_TOKEN = "push-token"  # the WECHAT_PUSH_TOKEN of conftest's `wechat_app`
# The settings of conftest's `wechat_app`: production mode, WeChat configured against the fake server.
WECHAT_SETTINGS = {
    "APP_ENV": "production",
    "WECHAT_APPID": "wx-test-app",
    "WECHAT_SECRET": "APP-SECRET-VALUE",
    "WECHAT_PUSH_TOKEN": PUSH_TOKEN,
    "PUBLIC_BASE_URL": "https://cartoon.example",
}
# Tests of WeChat answering too late: the client waits SHORT_WECHAT_TIMEOUT s, the fake server
# answers after LATE_ANSWER s (the other tests wait the default, 5 s, for a server under load).
SHORT_WECHAT_TIMEOUT, LATE_ANSWER = 1.0, 3.0


def wechat_login(client):
    token = client.post("/api/v1/auth/login", json={"code": "c"}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def signed(timestamp="1700000000", nonce="n1", token=PUSH_TOKEN):
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"timestamp": timestamp, "nonce": nonce, "signature": signature}


def verdict(client, trace_id, suggest):
    event = {
        "ToUserName": "gh_1",
        "FromUserName": "openid",
        "MsgType": "event",
        "Event": "wxa_media_check",
        "appid": "wx-test-app",
        "trace_id": trace_id,
        "version": 2,
        "errcode": 0,
        "errmsg": "ok",
        "result": {"suggest": suggest, "label": 100 if suggest == "pass" else 20002},
    }
    response = client.post("/api/v1/wechat/events", query_string=signed(), json=event)
    assert response.status_code == 200 and response.data == b"success"


def sent_check(app, job_id, timeout=10.0):
    """Waits until the check thread has submitted the job's upload (or failed to); its status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(Job, job_id)
            if job.check_trace_id or job.check_status != "pending":
                return job.check_status
        time.sleep(0.02)
    raise AssertionError("the content check was not sent")
