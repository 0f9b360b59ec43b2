"""Animated GIFs: a job turns an animated GIF into an animated cartoon GIF with the same frames,
durations and loop; the frame and pixel limits give clear 422s; a still GIF is still a picture."""

import io

import numpy as np
from PIL import Image, ImageSequence

from backend.gifs import write_frames
from tests.backend.helpers import (
    DURATIONS,
    described,
    dev_login,
    finished_job,
    frames,
    pillow_gif,
    refused,
    submit,
    upload,
)


def gif_frames(data):
    with Image.open(io.BytesIO(data)) as image:
        return [np.asarray(frame.convert("RGB"), dtype=np.int16) for frame in ImageSequence.Iterator(image)]


def test_animated_gif_gives_an_animated_cartoon_gif(client, zoo_dir):
    from backend.inference import OnnxGenerator, stylize
    from backend.zoo import ModelZoo

    alice = dev_login(client)
    pictures = frames()
    job = finished_job(client, alice, data=pillow_gif(pictures, loop=2), style="tiny_rgb", filename="a.gif")
    assert job["result"]["media_type"] == "image/gif"
    assert (job["result"]["width"], job["result"]["height"]) == (40, 30)
    response = client.get(job["result"]["url"], headers=alice)
    assert response.status_code == 200 and response.mimetype == "image/gif"
    assert described(response.data) == (3, DURATIONS, 2, (40, 30))

    # Each frame is the model's picture of that frame, up to the 256-colour palette.
    style = ModelZoo(zoo_dir).get("tiny_rgb")
    generator = OnnxGenerator(style.folder / "model.onnx")
    for served, picture in zip(gif_frames(response.data), pictures, strict=True):
        expected = stylize(generator, np.asarray(picture), style.manifest["input"]).astype(np.int16)
        assert np.abs(served - expected).mean() < 3.0


def test_no_loop_count_stays_none_and_equal_frames_stay_apart(client):
    alice = dev_login(client)
    buffer = io.BytesIO()
    same = frames(1)[0]
    write_frames(buffer, [(same, 100), (same, 100), (frames(2)[1], 0)])  # no loop: played once
    job = finished_job(client, alice, data=buffer.getvalue(), filename="b.gif")
    served = client.get(job["result"]["url"], headers=alice).data
    assert described(served) == (3, [100, 100, 0], None, (40, 30))


def test_long_side_applies_to_every_frame(client):
    alice = dev_login(client)
    job = finished_job(client, alice, data=pillow_gif(frames(size=(120, 90)), loop=0), long_side=64, filename="c.gif")
    assert (job["result"]["width"], job["result"]["height"]) == (64, 48)
    count, durations, loop, size = described(client.get(job["result"]["url"], headers=alice).data)
    assert (count, durations, loop, size) == (3, DURATIONS, 0, (64, 48))


def test_frame_limit(make_app):
    client = make_app(GIF_MAX_FRAMES=2).test_client()
    response = submit(client, dev_login(client), data=pillow_gif(frames()), filename="d.gif")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "gif_too_many_frames"
    assert "3 frames" in error["message"] and "at most 2" in error["message"]


def test_pixel_limit(make_app):
    client = make_app(GIF_MAX_PIXELS=40 * 30 * 3 - 1).test_client()
    response = submit(client, dev_login(client), data=pillow_gif(frames()), filename="e.gif")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "gif_too_large" and "3,600 pixels" in error["message"]
    # Exactly at the limit is accepted.
    client = make_app(GIF_MAX_PIXELS=40 * 30 * 3).test_client()
    assert submit(client, dev_login(client), data=pillow_gif(frames()), filename="e.gif").status_code == 202


def test_damaged_animation_is_refused_on_upload(client):
    data = pillow_gif(frames(size=(64, 48)))
    assert refused(client, data[: len(data) * 2 // 3], "f.gif") == (422, "image_corrupt")


def test_still_gif_is_a_picture(client):
    alice = dev_login(client)
    job = finished_job(client, alice, data=pillow_gif(frames(1), durations=100), filename="g.gif")
    assert job["result"]["media_type"] == "image/png"
    assert client.get(job["result"]["url"], headers=alice).mimetype == "image/png"


def test_shared_gif_and_phone_made_gif(client):
    alice = dev_login(client)
    job = finished_job(client, alice, data=pillow_gif(frames(), loop=0), filename="i.gif")
    link = client.post(f"/api/v1/results/{job['result']['id']}/share", headers=alice).get_json()["url"]
    shared = client.get(link)
    assert shared.mimetype == "image/gif" and described(shared.data)[:3] == (3, DURATIONS, 0)

    # An animated GIF made on the phone is stored and served as it was sent.
    data = pillow_gif(frames(), loop=5)
    response = upload(client, alice, data=data)
    assert response.status_code == 201 and response.get_json()["media_type"] == "image/gif"
    served = client.get(response.get_json()["url"], headers=alice)
    assert served.mimetype == "image/gif" and served.data == data
