"""Energy voice-activity detection on 20 ms frames (pure, no I/O).

Telephone lines differ in their noise, so the threshold follows an estimate of the
line's noise floor instead of a fixed level; Vosk's own endpointing confirms the end
of an utterance, this only has to notice loud-enough sound quickly for barge-in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hotline.asr.frames import FRAME_SAMPLES

_FULL_SCALE = 32768.0
_SILENT_DBFS = -100.0  # the level of digital silence (log of zero)


@dataclass(frozen=True, slots=True)
class VadSettings:
    margin_db: float = 12.0  # a frame is voiced when this far above the noise floor
    min_level_dbfs: float = -42.0  # ...and at least this loud in absolute terms
    initial_floor_dbfs: float = -60.0
    floor_rise_per_frame_db: float = 0.05  # 2.5 dB/s: the floor climbs slowly
    floor_fall_rate: float = 0.3  # ...and falls quickly towards quieter frames


def frame_levels_dbfs(block: bytes, frame_samples: int = FRAME_SAMPLES) -> list[float]:
    """RMS level of each consecutive frame of 16-bit little-endian PCM, in dBFS.

    One numpy pass for a whole block of frames, so a batch of audio costs one call
    rather than one per 20 ms frame. `block` must hold whole frames.
    """
    samples = np.frombuffer(block, dtype="<i2").astype(np.int64)
    if samples.size % frame_samples:
        raise ValueError(f"{samples.size} samples are not whole {frame_samples}-sample frames")
    # Integer sums of squares are exact: a frame's level does not depend on its block.
    energies: list[int] = (samples * samples).reshape(-1, frame_samples).sum(axis=1).tolist()
    return [_level(energy, frame_samples) for energy in energies]


def _level(energy: int, count: int) -> float:
    rms = math.sqrt(energy / count)
    if rms < 1.0:
        return _SILENT_DBFS
    return 20.0 * math.log10(rms / _FULL_SCALE)


def frame_level_dbfs(frame: bytes) -> float:
    """RMS level of 16-bit little-endian PCM (one frame of any length), in dBFS."""
    if len(frame) < 2:
        return _SILENT_DBFS
    (level,) = frame_levels_dbfs(frame, len(frame) // 2)
    return level


class EnergyVad:
    """Per-frame voiced/unvoiced decision against an adaptive noise floor."""

    def __init__(self, settings: VadSettings = VadSettings()) -> None:
        self.settings = settings
        self.noise_floor_dbfs = settings.initial_floor_dbfs

    def is_voiced(self, frame: bytes) -> bool:
        return self.decide(frame_level_dbfs(frame))

    def voiced_frames(self, block: bytes) -> list[bool]:
        """Decisions for each 20 ms frame of `block`, in order (same as frame by frame)."""
        return [self.decide(level) for level in frame_levels_dbfs(block)]

    def decide(self, level: float) -> bool:
        """Is a frame at `level` dBFS voiced? Updates the noise floor."""
        s = self.settings
        voiced = level >= max(self.noise_floor_dbfs + s.margin_db, s.min_level_dbfs)
        if level < self.noise_floor_dbfs:
            self.noise_floor_dbfs += (level - self.noise_floor_dbfs) * s.floor_fall_rate
        else:
            # Rise slowly even through "voiced" frames: sound that never stops is the
            # line's noise, while speech pauses let the floor fall back quickly.
            self.noise_floor_dbfs = min(level, self.noise_floor_dbfs + s.floor_rise_per_frame_db)
        return voiced
