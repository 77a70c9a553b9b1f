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
        self._pending_linear = bytearray()

    def push(self, chunk: bytes) -> list[bytes]:
        """Add a chunk; return the complete 20 ms frames (16-bit LE linear) now available."""
        data = self._pending_encoded + chunk
        usable = len(data) - len(data) % self.encoding.bytes_per_sample
        self._pending_encoded = data[usable:]
        self._pending_linear += to_linear(data[:usable], self.encoding)
        whole = len(self._pending_linear) - len(self._pending_linear) % FRAME_BYTES
        if whole == 0:
            return []
        block = bytes(self._pending_linear[:whole])
        del self._pending_linear[:whole]
        return [block[i : i + FRAME_BYTES] for i in range(0, whole, FRAME_BYTES)]

    def flush(self) -> list[bytes]:
        """The held partial frame, padded with silence (a dangling odd byte is dropped)."""
        self._pending_encoded = b""
        if not self._pending_linear:
            return []
        frame = bytes(self._pending_linear).ljust(FRAME_BYTES, b"\0")
        self._pending_linear.clear()
        return [frame]
