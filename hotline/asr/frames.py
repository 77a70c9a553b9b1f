"""Cut a call's audio, arriving in chunks of any size, into fixed 20 ms linear frames."""

from __future__ import annotations

from hotline.asr.g711 import AudioEncoding, to_linear

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 160
FRAME_BYTES = FRAME_SAMPLES * 2  # 16-bit linear


class FrameSplitter:
    """Turns encoded chunks (RTP payloads, websocket messages, file reads) into frames.

    Chunks need not align with samples or frames: a trailing odd byte of 16-bit audio
    and any partial frame are held until the next chunk, so no sample is lost or
    shifted. `flush()` returns the last partial frame padded with silence.
    """

    def __init__(self, encoding: AudioEncoding = AudioEncoding.SLIN16) -> None:
        self.encoding = encoding
        self._pending_encoded = b""  # an odd byte of 16-bit input
        self._pending_linear = b""  # less than one frame of decoded audio

    def push_block(self, chunk: bytes) -> bytes:
        """Add a chunk; return every complete frame now available as one block.

        The block is 16-bit LE linear audio, a whole number of 20 ms frames (maybe none).
        Chunks that arrive frame-aligned (the usual RTP case) are decoded with no
        further copy; only the few bytes of a partial frame are carried over.
        """
        data = bytes(chunk) if not isinstance(chunk, bytes) else chunk
        if self._pending_encoded:
            data = self._pending_encoded + data
        odd = len(data) % self.encoding.bytes_per_sample
        self._pending_encoded = data[len(data) - odd :]
        linear = to_linear(data[: len(data) - odd] if odd else data, self.encoding)
        if self._pending_linear:
            linear = self._pending_linear + linear
        whole = len(linear) - len(linear) % FRAME_BYTES
        self._pending_linear = linear[whole:]
        return linear if whole == len(linear) else linear[:whole]

    def push(self, chunk: bytes) -> list[bytes]:
        """Add a chunk; return the complete 20 ms frames (16-bit LE linear) now available."""
        block = self.push_block(chunk)
        return [block[i : i + FRAME_BYTES] for i in range(0, len(block), FRAME_BYTES)]

    @property
    def held_bytes(self) -> int:
        """Decoded bytes waiting for the rest of their frame."""
        return len(self._pending_linear)

    def flush(self) -> list[bytes]:
        """The held partial frame, padded with silence (a dangling odd byte is dropped)."""
        self._pending_encoded = b""
        if not self._pending_linear:
            return []
        frame = self._pending_linear.ljust(FRAME_BYTES, b"\0")
        self._pending_linear = b""
        return [frame]
