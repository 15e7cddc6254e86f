"""The head of gzip data: headers need only the first bytes of a file."""

from __future__ import annotations

from neurodatahub.core.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"


def gunzipped_head(head: bytes, url: str, size: int = 1 << 16) -> bytes:
    """The first `size` bytes of what gzip data starts with (headers need only those, so a cut stream is
    fine); other data as it is."""
    import zlib

    if not head.startswith(GZIP_MAGIC):
        return head
    try:
        return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head, size)
    except zlib.error as error:
        raise InputError(f"{url}: damaged gzip data ({error})") from error
