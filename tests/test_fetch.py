"""`training.fetch` against a real HTTP server on 127.0.0.1 serving the public source's layout."""

import collections
import http.server
import re
import shutil
import threading
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from tests.ports import free_port
from training import fetch, settings
from training.cli import main
from training.conventions import sha256_file

STYLE = "hayao"
SOURCE_FOLDER = "style_transfer/cartoongan/pretrained_weights"
BIG_FILE = "conv04_1.weight.npy"  # 2.3 MB


def shared_style_dir(style=STYLE):
    return settings.published_weights_dir(style)


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves files under `server.root`, honoring `Range: bytes=N-` unless `server.honor_range` is off."""

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        if server.failures_left:
            server.failures_left -= 1
            self.send_error(503)
            return
        path = server.root / urllib.parse.unquote(self.path.lstrip("/"))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and server.honor_range:
            start = int(match.group(1))
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if server.cut_after:  # announce the whole body, send part of it, drop the connection
            body, server.cut_after = body[: server.cut_after], 0
            self.close_connection = True
        self.wfile.write(body)
        server.bytes_sent[Path(self.path).name] += len(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A server whose `base_url` is laid out like the GitHub source, with the published hayao files."""
    root = tmp_path / "server"
    style_dir = root / SOURCE_FOLDER / STYLE
    style_dir.mkdir(parents=True)
    for source in shared_style_dir().glob("*.npy"):
        (style_dir / source.name).symlink_to(source)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.root, httpd.style_dir = root, style_dir
    httpd.requests, httpd.bytes_sent = [], collections.Counter()
    httpd.honor_range, httpd.failures_left, httpd.cut_after = True, 0, 0
    httpd.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/{SOURCE_FOLDER}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(fetch, "BACKOFF_S", 0.0)


def copy_style_except(output, *names):
    """Fills `output` with verified copies of every file but `names`, as an earlier run would have."""
    output.mkdir(parents=True, exist_ok=True)
    for source in shared_style_dir().glob("*.npy"):
        if source.name not in names:
            shutil.copyfile(source, output / source.name)


def test_pinned_checksums_match_the_published_files():
    checksums = fetch.load_checksums()
    assert sorted(checksums) == ["hayao", "hosoda", "paprika", "shinkai"]
    for style, files in checksums.items():
        folder = shared_style_dir(style)
        assert sorted(files) == sorted(path.name for path in folder.glob("*.npy"))
        for name, entry in files.items():
            assert (folder / name).stat().st_size == entry["bytes"]
            assert sha256_file(folder / name) == entry["sha256"], f"{style}/{name}"


def test_downloads_every_file_then_skips_them(server, tmp_path):
    output = tmp_path / "weights"
    assert fetch.fetch_style(STYLE, output, server.base_url, progress=False) == (94, 0)
    for source in shared_style_dir().glob("*.npy"):
        assert (output / source.name).read_bytes() == source.read_bytes()
    assert not list(output.glob("*.part"))
    assert len(server.requests) == 94 and all(range_ is None for _, range_ in server.requests)

    server.requests.clear()
    assert fetch.fetch_style(STYLE, output, server.base_url, progress=False) == (0, 94)
    assert server.requests == []


def test_resume_requests_only_the_missing_bytes(server, tmp_path):
    output = tmp_path / "weights"
    copy_style_except(output, BIG_FILE)
    data = (shared_style_dir() / BIG_FILE).read_bytes()
    kept = 1_000_000
    (output / f"{BIG_FILE}.part").write_bytes(data[:kept])

    assert fetch.fetch_style(STYLE, output, server.base_url, progress=False) == (1, 93)
    assert server.requests == [(f"/{SOURCE_FOLDER}/{STYLE}/{BIG_FILE}", f"bytes={kept}-")]
    assert server.bytes_sent[BIG_FILE] == len(data) - kept
    assert (output / BIG_FILE).read_bytes() == data
    assert not (output / f"{BIG_FILE}.part").exists()


def test_a_dropped_connection_is_resumed_where_it_stopped(server, tmp_path):
    server.cut_after = 500_000
    output = tmp_path / "weights"
    copy_style_except(output, BIG_FILE)
    data = (shared_style_dir() / BIG_FILE).read_bytes()

    assert fetch.fetch_style(STYLE, output, server.base_url, progress=False) == (1, 93)
    assert [range_ for _, range_ in server.requests] == [None, "bytes=500000-"]
    assert server.bytes_sent[BIG_FILE] == len(data)
    assert (output / BIG_FILE).read_bytes() == data


def test_resume_falls_back_to_a_full_download_when_range_is_ignored(server, tmp_path):
    server.honor_range = False
    output = tmp_path / "weights"
    copy_style_except(output, BIG_FILE)
    data = (shared_style_dir() / BIG_FILE).read_bytes()
    (output / f"{BIG_FILE}.part").write_bytes(data[:1000])

    assert fetch.fetch_style(STYLE, output, server.base_url, progress=False) == (1, 93)
    assert server.bytes_sent[BIG_FILE] == len(data)
    assert (output / BIG_FILE).read_bytes() == data


def test_a_stale_part_file_is_replaced_by_a_fresh_download(server, tmp_path):
    output = tmp_path / "weights"
    copy_style_except(output, BIG_FILE)
    data = (shared_style_dir() / BIG_FILE).read_bytes()
    (output / f"{BIG_FILE}.part").write_bytes(b"x" * 1000)

    assert fetch.fetch_style(STYLE, output, server.base_url, progress=False) == (1, 93)
    assert [range_ for _, range_ in server.requests] == ["bytes=1000-", None]
    assert (output / BIG_FILE).read_bytes() == data


def test_a_present_file_with_the_wrong_hash_is_downloaded_again(server, tmp_path):
    output = tmp_path / "weights"
    copy_style_except(output)
    (output / BIG_FILE).write_bytes(b"not the published tensor")

    assert fetch.fetch_style(STYLE, output, server.base_url, progress=False) == (1, 93)
    assert (output / BIG_FILE).read_bytes() == (shared_style_dir() / BIG_FILE).read_bytes()


def test_a_corrupted_file_fails_its_checksum_and_is_not_kept(server, tmp_path, capsys):
    corrupted = server.style_dir / BIG_FILE
    data = bytearray(corrupted.read_bytes())
    data[-1] ^= 0xFF
    corrupted.unlink()
    corrupted.write_bytes(bytes(data))
    output = tmp_path / "weights"
    copy_style_except(output, BIG_FILE)

    status = main(["fetch-pretrained", "--style", STYLE, "--output", str(output), "--base-url", server.base_url])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == 1
    assert error.startswith(f"error: {BIG_FILE}: checksum mismatch")
    assert fetch.load_checksums()[STYLE][BIG_FILE]["sha256"] in error
    assert not (output / BIG_FILE).exists() and not (output / f"{BIG_FILE}.part").exists()


def test_a_missing_file_is_an_http_error_naming_it(server, tmp_path):
    (server.style_dir / BIG_FILE).unlink()
    output = tmp_path / "weights"
    copy_style_except(output, BIG_FILE)
    with pytest.raises(fetch.FetchError, match=rf"{STYLE}/{BIG_FILE}: HTTP 404 Not Found$"):
        fetch.fetch_style(STYLE, output, server.base_url, progress=False)
    assert len(server.requests) == 1  # a 404 is not retried
    assert not (output / BIG_FILE).exists()


def test_server_errors_are_retried(server, tmp_path):
    server.failures_left = 2
    output = tmp_path / "weights"
    copy_style_except(output, BIG_FILE)
    assert fetch.fetch_style(STYLE, output, server.base_url, progress=False) == (1, 93)
    assert len(server.requests) == 3


def test_an_unreachable_server_is_retried_then_reported(tmp_path):
    port = free_port()  # nothing listens on it
    with pytest.raises(fetch.FetchError, match=rf"cannot connect .* \(gave up after {fetch.ATTEMPTS} attempts\)$"):
        fetch.fetch_style(STYLE, tmp_path / "weights", f"http://127.0.0.1:{port}/weights", progress=False)


def test_unknown_style_and_bad_base_url(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown style 'ghibli'; published styles: hayao, hosoda"):
        fetch.fetch_style("ghibli", tmp_path)
    with pytest.raises(ValueError, match="base URL must start with http"):
        fetch.fetch_style(STYLE, tmp_path, "ftp://example.com/weights")
    assert main(["fetch-pretrained", "--style", "ghibli", "--output", str(tmp_path)]) == 2
    message = "error: unknown style 'ghibli'; published styles: hayao, hosoda, paprika, shinkai\n"
    assert capsys.readouterr().err == message
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_cli_fetch_then_import_gives_a_working_generator(server, tmp_path, capsys):
    from training.pretrained import import_published
    from training.saving import load_generator

    output = tmp_path / "weights"
    argv = ["fetch-pretrained", "--style", STYLE, "--output", str(output), "--base-url", server.base_url]
    assert main(argv) == 0
    assert f"{STYLE}: 94 files downloaded, 0 already present, all verified -> {output}" in capsys.readouterr().out

    keras_file = tmp_path / "hayao.keras"
    assert main(["import-pretrained", "--style", STYLE, "--weights-dir", str(output), "--output", str(keras_file)]) == 0
    model, metadata = load_generator(keras_file)
    reference, _ = import_published(STYLE, shared_style_dir())
    image = np.random.default_rng(0).uniform(-1, 1, (1, 20, 16, 3)).astype("float32")
    result = np.asarray(model(image))
    assert metadata["style"] == STYLE and result.shape == (1, 20, 16, 3)
    np.testing.assert_array_equal(result, np.asarray(reference(image)))
