"""HTTP for fetching: JSON API calls and resumable, verified downloads, on the standard library.

Why not pooch or fsspec's HTTP filesystem: pooch downloads into a temporary file it discards on failure
(no resume of a 2 GB tarball), sends no per-source credentials such as Dataverse's `X-Dataverse-key`, and
checks no free space; fsspec's HTTP layer pulls in aiohttp and an event loop for what is one streamed GET
with a `Range` header. What is needed fits here: a `.partial` file beside the target that a retry or a
later run continues with `Range: bytes=N-`, retries with exponential backoff, progress callbacks, and
verification of size and hash before the file is moved into place.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurodatahub.catalog.errors import AuthenticationError, FetchError, IntegrityError
from neurodatahub.core import environment

CHUNK = 1024 * 1024
USER_AGENT = "neurodatahub (+https://github.com/neurodatahub)"
Progress = Callable[[int, int | None], None]  # (bytes of this file so far, its size if known)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; NEURODATAHUB_FETCH_RETRIES / _BACKOFF override the defaults."""

    attempts: int = 5
    backoff_seconds: float = 1.0
    timeout_seconds: float = 60.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        return cls(
            attempts=environment.number("NEURODATAHUB_FETCH_RETRIES", cls.attempts, whole=True, minimum=1),
            backoff_seconds=environment.number("NEURODATAHUB_FETCH_BACKOFF", cls.backoff_seconds, minimum=0),
            timeout_seconds=environment.number("NEURODATAHUB_FETCH_TIMEOUT", cls.timeout_seconds, above=0),
        )

    def wait(self, attempt: int) -> None:
        time.sleep(self.backoff_seconds * 2**attempt)


class _Retryable(Exception):
    """A failure worth another try: dropped connection, timeout, server error."""


def host_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _open(url: str, headers: Mapping[str, str], timeout: float) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        _raise_for_status(url, error.code, error.reason, headers)
        raise  # _raise_for_status always raises; this keeps type checkers content
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as error:
        raise _Retryable(f"{host_of(url)} unreachable ({getattr(error, 'reason', error)})") from error


def _raise_for_status(url: str, code: int, reason: str, headers: Mapping[str, str]) -> None:
    """Turn an HTTP error status into a hub error; never echo the headers (they may hold a key)."""
    where = host_of(url)
    if code in (401, 403):
        if "X-Dataverse-key" in headers or "Authorization" in headers:
            raise AuthenticationError(
                f"{where} rejected the API key (HTTP {code} {reason}); check that the key is valid and"
                " has access to this dataset"
            )
        raise AuthenticationError(
            f"{where} requires an API key (HTTP {code} {reason}); pass --api-key, set DATAVERSE_API_KEY,"
            " or put it in the neurodatahub config file (see `hub fetch --help`)"
        )
    if code == 404:
        raise FetchError(f"{url}: not found at the source (HTTP 404)")
    if code == 416:
        raise _RangeRefused()
    if code >= 500 or code == 429:
        raise _Retryable(f"{where} answered HTTP {code} {reason}")
    raise FetchError(f"{url}: HTTP {code} {reason}")


class _RangeRefused(Exception):
    """416: the partial file is as long as (or longer than) the server's copy."""


def with_retries(action: Callable[[], Any], policy: RetryPolicy, what: str) -> Any:
    for attempt in range(policy.attempts):
        try:
            return action()
        except _Retryable as error:
            if attempt == policy.attempts - 1:
                raise FetchError(f"{what}: {error} (gave up after {policy.attempts} attempts)") from error
            policy.wait(attempt)
    raise AssertionError("unreachable")


def get_json(url: str, headers: Mapping[str, str] | None = None, policy: RetryPolicy | None = None) -> Any:
    """A JSON API answer, retried on transient failures."""
    policy = policy or RetryPolicy.from_env()

    def call() -> Any:
        with _open(url, headers or {}, policy.timeout_seconds) as response:
            try:
                return json.loads(response.read())
            except (ValueError, http.client.IncompleteRead) as error:
                raise _Retryable(f"unreadable answer ({error})") from error

    return with_retries(call, policy, f"listing files at {host_of(url)}")


@dataclass(frozen=True)
class Expected:
    """What the downloaded bytes must be: size and digest when the publisher gives them."""

    size: int | None = None
    algorithm: str = "unknown"
    digest: str | None = None
    origin: str = "the source publishes"  # or "its first download recorded" (trust on first use)


def partial_path(target: Path) -> Path:
    return target.with_name(target.name + ".partial")


def download(
    url: str,
    target: Path,
    *,
    expected: Expected,
    headers: Mapping[str, str] | None = None,
    resume: bool = True,
    progress: Progress | None = None,
    policy: RetryPolicy | None = None,
) -> str:
    """Download `url` to `target` through `target.partial`, verify it, move it into place.

    Returns the file's sha256 (recorded in the registry even when the publisher gave no hash). A size or
    hash mismatch deletes the partial file and raises IntegrityError: nothing unverified is left behind.
    """
    policy = policy or RetryPolicy.from_env()
    partial = partial_path(target)
    if not resume and partial.exists():
        partial.unlink()

    def attempt() -> None:
        _transfer(url, partial, expected.size, dict(headers or {}), policy, progress)

    with_retries(attempt, policy, f"downloading {target.name} from {host_of(url)}")
    sha256 = verify_file(partial, expected, target.name)
    os.replace(partial, target)
    return sha256


def _transfer(
    url: str,
    partial: Path,
    size: int | None,
    headers: dict[str, str],
    policy: RetryPolicy,
    progress: Progress | None,
) -> None:
    offset = partial.stat().st_size if partial.exists() else 0
    if size is not None and offset > size:
        partial.unlink()
        offset = 0
    if size is not None and offset == size:
        return
    if offset:
        headers = {**headers, "Range": f"bytes={offset}-"}
    try:
        response = _open(url, headers, policy.timeout_seconds)
    except _RangeRefused:
        partial.unlink()  # the server's copy is shorter than ours: start again
        raise _Retryable("the server refused to resume; starting again") from None
    with response:
        if offset and response.status != 206:  # the server ignored Range: the whole file is coming
            offset = 0
        total = _total(response, offset, size)
        done = offset
        with open(partial, "ab" if offset else "wb") as out:
            try:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            except (http.client.HTTPException, ConnectionError, TimeoutError, OSError) as error:
                raise _Retryable(f"connection dropped at {done} bytes ({error})") from error
    if total is not None and done < total:
        raise _Retryable(f"connection dropped at {done} of {total} bytes")


def _total(response: Any, offset: int, size: int | None) -> int | None:
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit():
        return offset + int(length)
    return size


def verify_file(partial: Path, expected: Expected, name: str) -> str:
    """Check size and digest of a finished download; a mismatch deletes it. Returns its sha256."""
    from neurodatahub.core.storage import checksum_of

    actual_size = partial.stat().st_size
    if expected.size is not None and actual_size != expected.size:
        partial.unlink()
        raise IntegrityError(
            f"{name}: downloaded {actual_size} bytes, {expected.origin} {expected.size}; file deleted"
        )
    sha256 = checksum_of(str(partial), "sha256") or ""
    if expected.digest and expected.algorithm not in ("unknown", None):
        actual = sha256 if expected.algorithm == "sha256" else checksum_of(str(partial), expected.algorithm)
        if actual != expected.digest.lower():
            partial.unlink()
            raise IntegrityError(
                f"{name}: {expected.algorithm} is {actual}, {expected.origin} {expected.digest};"
                " the download is corrupt or the file changed at its source, and was deleted"
            )
    return sha256
