"""Downloading a published style's weights (one `.npy` per tensor), verified against pinned hashes.

The files come from the public source of the layout that `import-pretrained` reads, the GitHub
repository mnicnc404/CartoonGan-tensorflow, folder `style_transfer/cartoongan/pretrained_weights/`.
Every file of every style has a pinned size and sha256 in `pretrained_sha256.json`; a download gets
its final name only once its hash matches, so a folder never holds an unverified `<name>.npy`.

Fetching is resumable: files already present with the right hash are skipped, and a `<name>.part`
left by an interrupted run is continued with an HTTP `Range` request (or downloaded again whole when
the server ignores the range). Connection failures and 5xx answers are retried with backoff.
"""

import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from training.conventions import sha256_file

SOURCE_REPOSITORY = "mnicnc404/CartoonGan-tensorflow"
DEFAULT_BASE_URL = (
    f"https://raw.githubusercontent.com/{SOURCE_REPOSITORY}/master/style_transfer/cartoongan/pretrained_weights"
)
CHECKSUMS_PATH = Path(__file__).with_name("pretrained_sha256.json")
ATTEMPTS = 4  # per file; a retried attempt continues from the bytes already received
BACKOFF_S = 1.0  # waits 1, 2, 4 s between attempts
TIMEOUT_S = 30
CHUNK_BYTES = 1 << 16
RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}
USER_AGENT = "cartoongan-training-fetch/1"


class FetchError(Exception):
    """A download that failed for good; the message is one line naming the file or URL."""


class _Retryable(Exception):
    """A failure worth another attempt (connection trouble, a 5xx answer, a short body)."""


def load_checksums():
    """`{style: {file name: {"bytes": size, "sha256": hex digest}}}` for every published style."""
    return json.loads(CHECKSUMS_PATH.read_text())["styles"]


def style_files(style):
    """The pinned files of one style; `ValueError` for a style that was not published."""
    checksums = load_checksums()
    if style not in checksums:
        raise ValueError(f"unknown style {style!r}; published styles: {', '.join(sorted(checksums))}")
    return checksums[style]


def fetch_style(style, output, base_url=DEFAULT_BASE_URL, progress=True):
    """Downloads every file of `style` into the folder `output` (created if needed).

    Returns `(downloaded, skipped)` file counts. Raises `ValueError` for an unknown style or a
    base URL that is not http(s), `FetchError` for a download that failed or did not verify.
    """
    files = style_files(style)
    if not re.match(r"https?://", base_url):
        raise ValueError(f"base URL must start with http:// or https://, got {base_url!r}")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    downloaded = skipped = 0
    total = sum(entry["bytes"] for entry in files.values())
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=style, disable=not progress) as bar:
        for name, entry in files.items():
            target = output / name
            if target.is_file() and sha256_file(target) == entry["sha256"]:
                bar.update(entry["bytes"])
                skipped += 1
                continue
            download(f"{base_url.rstrip('/')}/{style}/{name}", target, entry, bar)
            downloaded += 1
    return downloaded, skipped


def download(url, target, entry, bar):
    """Downloads `url` to `target` through `<target>.part` and verifies it against `entry`.

    A mismatching download is removed; when it was a resumed one (the old `.part` may be stale),
    the file is downloaded once more from the start before giving up.
    """
    part = target.with_name(target.name + ".part")
    resumed = part.is_file() and part.stat().st_size > 0
    start = bar.n
    _download_with_retries(url, part, entry["bytes"], bar, start)
    digest = sha256_file(part)
    if digest != entry["sha256"] and resumed:
        part.unlink()
        _download_with_retries(url, part, entry["bytes"], bar, start)
        digest = sha256_file(part)
    if digest != entry["sha256"]:
        part.unlink()
        raise FetchError(
            f"{target.name}: checksum mismatch (sha256 {digest}, expected {entry['sha256']}); download removed"
        )
    os.replace(part, target)


def _download_with_retries(url, part, size, bar, start):
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _transfer(url, part, size, bar, start)
        except _Retryable as error:
            if attempt == ATTEMPTS:
                raise FetchError(f"{url}: {error} (gave up after {ATTEMPTS} attempts)") from None
            wait = BACKOFF_S * 2 ** (attempt - 1)
            tqdm.write(f"{part.name[:-5]}: {error}; retrying in {wait:g} s", file=sys.stderr)
            time.sleep(wait)


def _transfer(url, part, size, bar, start):
    """One attempt: appends the missing bytes of `url` to `part`, or writes it whole."""
    offset = part.stat().st_size if part.is_file() else 0
    if offset > size:  # not a prefix of this file: start over
        part.unlink()
        offset = 0
    if offset == size:  # complete already (interrupted before the rename); the hash decides
        bar.update(start + offset - bar.n)
        return
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and offset:
            part.unlink()
            raise _Retryable("server refused to resume (HTTP 416)") from None
        if error.code in RETRYABLE_STATUSES:
            raise _Retryable(f"HTTP {error.code} {error.reason}") from None
        raise FetchError(f"{url}: HTTP {error.code} {error.reason}") from None
    except OSError as error:  # URLError, refused or reset connections, timeouts
        raise _Retryable(f"cannot connect ({_reason(error)})") from None

    with response:
        if offset and not (response.status == 206 and _range_start(response) == offset):
            offset = 0  # the server ignored the range (or answered another one): take the whole file
        bar.update(start + offset - bar.n)
        try:
            with open(part, "ab" if offset else "wb") as file:
                while block := response.read(CHUNK_BYTES):
                    file.write(block)
                    bar.update(len(block))
        except (OSError, http.client.HTTPException) as error:
            raise _Retryable(f"connection lost ({_reason(error)})") from None
    received = part.stat().st_size
    if received < size:
        raise _Retryable(f"connection closed after {received} of {size} bytes")


def _range_start(response):
    """The first byte of a 206 answer, from `Content-Range: bytes START-END/TOTAL`."""
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _reason(error):
    reason = getattr(error, "reason", None) or error
    return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__


def add_arguments(parser):
    parser.add_argument("--style", required=True, help=f"published style: {', '.join(sorted(load_checksums()))}")
    parser.add_argument("--output", required=True, help="folder to write the style's .npy files into")
    parser.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help="URL of the folder holding one sub-folder per style (default: the public GitHub source)",
    )


def run(args):
    try:
        downloaded, skipped = fetch_style(args.style, args.output, args.base_url)
    except FetchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.style}: {downloaded} files downloaded, {skipped} already present, all verified -> {args.output}")
    return 0
