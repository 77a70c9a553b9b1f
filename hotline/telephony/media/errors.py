"""The one error the media codecs raise."""

from __future__ import annotations


class MediaProtocolError(ValueError):
    """Bytes that are not valid RTP or AudioSocket; the packet or connection is dropped."""
