"""Hostile and unusual uploads: each refusal is a 4xx JSON error; odd but valid pictures work."""

import io

import numpy as np
import pytest
from PIL import Image

from tests.backend.helpers import dev_login, image_bytes, refused, submit, wait_job


def source_of(app, job_id):
    from backend.models import Job

    with app.app_context():
        from backend.extensions import db

        with app.extensions["storage"].open(db.session.get(Job, job_id).source_path) as file:
            return np.asarray(Image.open(file))


def test_zero_byte_file(client):
    assert refused(client, b"") == (400, "empty_upload")


def test_truncated_jpeg(client):
    data = image_bytes((200, 150), fmt="JPEG")
    assert refused(client, data[: len(data) // 2]) == (422, "image_corrupt")


def test_truncated_png(client):
    data = image_bytes((200, 150))
    assert refused(client, data[: len(data) // 2], "photo.png") == (422, "image_corrupt")


def test_wrong_type_disguised_by_name(client):
    assert refused(client, b"#!/bin/sh\necho this is no photo\n" * 20, "photo.jpg") == (415, "unsupported_format")
    assert refused(client, b"%PDF-1.4\n" + b"0" * 500, "photo.png") == (415, "unsupported_format")
    # A real image of a format we do not take, named as one we do.
    assert refused(client, image_bytes((64, 64), fmt="BMP"), "photo.png") == (415, "unsupported_format")


def test_decompression_bomb_is_refused_before_decoding(client):
    # 20000 x 20000 one-bit pixels: a 50 kB file that would decode to 400 million pixels.
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 200_000
    assert refused(client, buffer.getvalue(), "bomb.png") == (422, "image_too_large")


def test_huge_dimensions(make_app):
    client = make_app(MAX_IMAGE_SIDE=4000).test_client()
    assert refused(client, image_bytes((4100, 10), mode="L"), "strip.png") == (422, "image_too_large")


def test_too_small(client):
    assert refused(client, image_bytes((4, 4)), "dot.png") == (422, "image_too_small")


def test_upload_size_limit(make_app):
    client = make_app(MAX_UPLOAD_BYTES=20_000).test_client()
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")
    assert refused(client, buffer.getvalue(), "noise.png") == (413, "upload_too_large")


def test_cmyk_jpeg(app, client):
    headers = dev_login(client)
    data = image_bytes((40, 30), mode="CMYK", fmt="JPEG", color=(0, 255, 255, 0))  # red in CMYK
    job = wait_job(client, headers, submit(client, headers, data=data).get_json()["id"])
    assert job["status"] == "done"
    red = source_of(app, job["id"])[15, 20]
    assert red[0] > 200 and red[1] < 50 and red[2] < 50


def test_16_bit_png_is_scaled_not_clipped(app, client):
    headers = dev_login(client)
    values = np.full((30, 40), 32768, dtype=np.uint16)  # mid-gray in 16 bits
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, "PNG")
    assert Image.open(io.BytesIO(buffer.getvalue())).mode.startswith("I")
    job = wait_job(client, headers, submit(client, headers, data=buffer.getvalue()).get_json()["id"])
    assert job["status"] == "done"
    assert abs(int(source_of(app, job["id"])[0, 0, 0]) - 128) <= 1


@pytest.mark.parametrize(
    "mode, save",
    [("P", {"transparency": 0}), ("LA", {}), ("RGBA", {}), ("L", {}), ("1", {})],
)
def test_palette_alpha_and_grayscale(app, client, mode, save):
    headers = dev_login(client)
    data = image_bytes((32, 24), mode=mode, fmt="PNG", **save)
    job = wait_job(client, headers, submit(client, headers, data=data, filename="x.png").get_json()["id"])
    assert job["status"] == "done"
    assert source_of(app, job["id"]).shape == (24, 32, 3)


def test_transparent_pixels_become_white(app, client):
    headers = dev_login(client)
    data = image_bytes((32, 24), mode="RGBA", fmt="PNG", color=(0, 0, 0, 0))
    job = wait_job(client, headers, submit(client, headers, data=data).get_json()["id"])
    assert source_of(app, job["id"])[0, 0].tolist() == [255, 255, 255]


def animated_gif():
    frames = [Image.new("RGB", (40, 30), color) for color in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def test_animated_gif_uses_the_first_frame_when_configured(make_app):
    client = make_app(ANIMATED_IMAGES="first_frame").test_client()
    headers = dev_login(client)
    response = submit(client, headers, data=animated_gif(), filename="anim.gif")
    assert response.status_code == 202
    assert "first frame" in response.get_json()["notes"][0]
    assert wait_job(client, headers, response.get_json()["id"])["status"] == "done"


def test_animated_gif_rejected_when_configured(make_app):
    client = make_app(ANIMATED_IMAGES="reject").test_client()
    assert refused(client, animated_gif(), "anim.gif") == (422, "animated_image")


def test_exif_orientation_is_applied(app, client):
    headers = dev_login(client)
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 10, 20))  # red band on the left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    job = wait_job(client, headers, submit(client, headers, data=buffer.getvalue()).get_json()["id"])
    source = source_of(app, job["id"])
    assert source.shape == (40, 20, 3)  # upright: taller than wide
    assert source[2, 10, 0] > 200  # the red band is now on top


def test_webp_and_gif_stills_are_accepted(client):
    headers = dev_login(client)
    for fmt in ("WEBP", "GIF", "JPEG"):
        response = submit(client, headers, data=image_bytes((32, 32), fmt=fmt), filename="no-extension")
        assert response.status_code == 202, fmt


def test_large_photo_is_reduced_then_oriented(app, client):
    """A big JPEG is decoded at reduced scale, turned upright and resized to the job's long side."""
    headers = dev_login(client)
    image = Image.new("RGB", (6000, 3000), (0, 0, 255))  # 18 M pixels, over EXACT_PIXELS
    image.paste((255, 0, 0), (0, 0, 1500, 3000))  # red quarter on the left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    response = submit(client, headers, data=buffer.getvalue(), long_side=64)
    source = source_of(app, response.get_json()["id"])
    assert source.shape == (64, 32, 3)  # upright, long side 64
    assert source[4, 16, 0] > 200 and source[4, 16, 2] < 50  # the red quarter is now on top
    assert source[60, 16, 2] > 200 and source[60, 16, 0] < 50


def test_16_bit_grey_reduced_keeps_its_scale(app, client):
    headers = dev_login(client)
    buffer = io.BytesIO()
    Image.fromarray(np.full((4000, 5000), 32768, dtype=np.uint16)).save(buffer, "PNG")  # 20 M pixels
    response = submit(client, headers, data=buffer.getvalue(), long_side=64)
    source = source_of(app, response.get_json()["id"])
    assert source.shape == (51, 64, 3) and abs(int(source[20, 30, 0]) - 128) <= 1


def test_uploads_wait_for_a_decoding_slot(make_app):
    app = make_app(UPLOAD_DECODERS=1, UPLOAD_DECODE_WAIT=0.2)
    client = app.test_client()
    headers = dev_login(client)
    slots = app.extensions["upload_decoders"]
    slots.acquire()  # another upload is being decoded
    try:
        busy = submit(client, headers)
        assert busy.status_code == 503 and busy.get_json()["error"]["code"] == "busy"
        assert "Retry-After" in busy.headers
    finally:
        slots.release()
    assert submit(client, headers).status_code == 202
