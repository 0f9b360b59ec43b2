"""Where uploads and results are kept: a folder (the embedded default) or an S3-compatible bucket.

`STORAGE_URL` empty: files under `RESULTS_DIR`. `s3://bucket/prefix`: objects in that bucket under
that prefix, reached with `S3_ENDPOINT_URL` (empty: AWS), `S3_ACCESS_KEY`, `S3_SECRET_KEY` and
`S3_REGION`. Web processes and Celery workers read the same settings and write through the same
interface, so with a bucket they share no disk.

The database keeps keys relative to the storage (`uploads/<job id>.png`, `results/<result id>.gif`)
in the columns `jobs.source_path` and `results.path`; the folder storage still reads the absolute
paths that rows written before keys hold.

Views answer with `send_picture`: the folder storage sends the file, the bucket storage streams
the object through the web process with the same status codes, Content-Type, Content-Length,
caching headers, ETag and Range handling. A redirect to a presigned URL would have changed the
status codes, and every client (WeChat's domain lists included) would have to reach the bucket.

S3 client: `minio`, a maintained client of any S3-compatible server that does the signing (SigV4),
retries and multipart uploads, rather than our own signing code over requests; boto3 cannot be
installed next to the pinned python-dateutil. Its connections are ours (`http_client`): a short
connect timeout, a read timeout and few retries (S3_CONNECT_TIMEOUT, S3_READ_TIMEOUT, S3_RETRIES),
so that a bucket that cannot be reached or does not answer gets a 503 within seconds, before the
clients give up, rather than after minio's 5 retries with backoff (6 s for a refused connection,
up to 6 x 5 minutes for a silent bucket).
"""

import os
import tempfile
import threading
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, request, send_file

from backend.errors import ApiError, error_response
from backend.gifs import media_type

SPOOL_BYTES = 8 * 1024 * 1024  # an object in transit is held in memory up to this, then in a temporary file
CHUNK_BYTES = 256 * 1024


class StorageUnavailable(Exception):
    """The bucket could not be reached, or refused a request: requests get 503, jobs try again."""


def upload_key(job_id, suffix):
    return f"uploads/{job_id}{suffix}"


def result_key(result_id, suffix):
    return f"results/{result_id}{suffix}"


class Storage:
    """Objects by key: `create` (a file to write, stored when its block ends without error),
    `open` (a readable, seekable file; FileNotFoundError when missing), `delete` (missing is fine),
    `exists`, `send` (the object as an answer), and `problem` (why it cannot be used, or None)."""

    def put(self, key, data):
        with self.create(key) as file:
            file.write(data)

    def read(self, key):
        with self.open(key) as file:
            return file.read()


class LocalStorage(Storage):
    """Files under `folder`."""

    def __init__(self, folder):
        self.folder = Path(os.path.abspath(folder))

    def __str__(self):
        return str(self.folder)

    def path(self, key):
        return self.folder / key  # an absolute path (a row from before keys) stays as it is

    @contextmanager
    def create(self, key):
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
        try:
            with open(partial, "wb") as file:
                yield file
            os.replace(partial, path)  # readers never see a half-written picture
        finally:
            partial.unlink(missing_ok=True)

    def open(self, key):
        return open(self.path(key), "rb")

    def delete(self, key):
        self.path(key).unlink(missing_ok=True)

    def exists(self, key):
        return self.path(key).is_file()

    def send(self, key, mimetype, max_age, download_name):
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return send_file(path, mimetype=mimetype, max_age=max_age, download_name=download_name)

    def problem(self):
        return None


def http_client(connect_timeout, read_timeout, retries):
    """The S3 client's connections: minio's own settings (pool size, certificates, retried status
    codes), with `connect_timeout` seconds to connect, `read_timeout` seconds of silence from a
    connected bucket, and `retries` tries again after a failure."""
    import certifi
    import urllib3

    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=retries, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


class S3Storage(Storage):
    """Objects in an S3-compatible bucket, under a prefix."""

    def __init__(self, url, endpoint_url, access_key, secret_key, region, connect_timeout, read_timeout, retries):
        from minio import Minio

        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"STORAGE_URL must be empty or s3://bucket/prefix, got {url!r}")
        self.bucket, self.prefix = parts.netloc, parts.path.strip("/")
        endpoint = urlsplit(endpoint_url or "https://s3.amazonaws.com")
        if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
            raise ValueError(f"S3_ENDPOINT_URL must be http(s)://host[:port], got {endpoint_url!r}")
        self.client = Minio(
            endpoint.netloc,
            access_key=access_key or None,
            secret_key=secret_key or None,
            region=region or None,
            secure=endpoint.scheme == "https",
            http_client=http_client(connect_timeout, read_timeout, retries),
        )
        self.endpoint = endpoint.netloc

    def __str__(self):
        return f"s3://{self.bucket}/{self.prefix} on {self.endpoint}"

    def name(self, key):
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def reaching(self, key):
        """Around a request to the bucket: FileNotFoundError for a missing key, StorageUnavailable
        for any other failure (after the client's own retries)."""
        from minio.error import MinioException, S3Error
        from urllib3.exceptions import HTTPError

        try:
            yield
        except S3Error as error:
            if error.code == "NoSuchKey":
                raise FileNotFoundError(key) from None
            raise StorageUnavailable(f"{self}: {error.code}") from error
        except (MinioException, HTTPError) as error:
            raise StorageUnavailable(f"{self}: {type(error).__name__}") from error

    @contextmanager
    def create(self, key):
        with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as file:
            yield file
            size = file.seek(0, os.SEEK_END)
            file.seek(0)
            with self.reaching(key):
                self.client.put_object(self.bucket, self.name(key), file, size)

    def get(self, key):
        """The object's HTTP response (read it, then close it); FileNotFoundError when missing."""
        with self.reaching(key):
            return self.client.get_object(self.bucket, self.name(key))

    def open(self, key):
        response = self.get(key)
        file = tempfile.SpooledTemporaryFile(SPOOL_BYTES)
        try:
            with self.reaching(key):
                for chunk in response.stream(CHUNK_BYTES):
                    file.write(chunk)
        except BaseException:
            file.close()
            raise
        finally:
            response.close()
            response.release_conn()
        file.seek(0)
        return file

    def delete(self, key):
        with self.reaching(key):
            self.client.remove_object(self.bucket, self.name(key))  # S3 answers a missing key alike

    def exists(self, key):
        try:
            with self.reaching(key):
                self.client.stat_object(self.bucket, self.name(key))
        except FileNotFoundError:
            return False
        return True

    def send(self, key, mimetype, max_age, download_name):
        """The object streamed through, with the headers `send_file` gives a file."""
        response = self.get(key)
        headers = response.headers
        answer = send_file(
            response,
            mimetype=mimetype,
            max_age=max_age,
            download_name=download_name,
            etag=headers["ETag"].strip('"'),
            last_modified=parsedate_to_datetime(headers["Last-Modified"]),
            conditional=False,
        )
        answer.content_length = size = int(headers["Content-Length"])
        return answer.make_conditional(request.environ, accept_ranges=True, complete_length=size)

    def problem(self):
        try:
            return None if self.client.bucket_exists(self.bucket) else f"no bucket {self.bucket!r}"
        except Exception as error:  # unreachable, refused credentials, ...
            return type(error).__name__


def from_config(config):
    if not config["STORAGE_URL"]:
        return LocalStorage(config["RESULTS_DIR"])
    return S3Storage(
        config["STORAGE_URL"],
        config["S3_ENDPOINT_URL"],
        config["S3_ACCESS_KEY"],
        config["S3_SECRET_KEY"],
        config["S3_REGION"],
        config["S3_CONNECT_TIMEOUT"],
        config["S3_READ_TIMEOUT"],
        config["S3_RETRIES"],
    )


def unavailable(error):
    current_app.logger.warning("storage unavailable: %s", error)
    return error_response(503, "storage_unavailable", "Pictures cannot be stored or read right now; try again.", 30)


def init_app(app):
    app.extensions["storage"] = from_config(app.config)
    app.register_error_handler(StorageUnavailable, unavailable)


def storage():
    """The app's storage (`init_app`)."""
    return current_app.extensions["storage"]


def send_picture(key, max_age, download_name):
    """The stored picture `key` (PNG or GIF) as an answer; 404 when it is not there."""
    try:
        return storage().send(key, media_type(key), max_age, download_name)
    except FileNotFoundError:
        raise ApiError(404, "not_found", "No such picture.") from None
