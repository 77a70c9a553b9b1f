from __future__ import annotations

import numpy as np

from hotline.asr.vad import EnergyVad, frame_level_dbfs


def tone(level: float, n: int = 160, freq: float = 440.0) -> bytes:
    t = np.arange(n) / 8000
    return (np.sin(2 * np.pi * freq * t) * level * 32767).astype("<i2").tobytes()


def noise(level: float, seed: int, n: int = 160) -> bytes:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * level * 32767).clip(-32768, 32767).astype("<i2").tobytes()


def test_levels() -> None:
    assert frame_level_dbfs(b"\0" * 320) == -100.0
    assert abs(frame_level_dbfs(tone(1.0)) - (-3.0)) < 0.2  # a full-scale sine is -3 dBFS
    assert frame_level_dbfs(b"") == -100.0


def test_silence_is_unvoiced_and_speech_level_is_voiced() -> None:
    vad = EnergyVad()
    assert not any(vad.is_voiced(b"\0" * 320) for _ in range(50))
    assert vad.is_voiced(tone(0.1))  # about -23 dBFS


def test_threshold_follows_a_noisy_line() -> None:
    vad = EnergyVad()
    # Steady line noise at about -40 dBFS: voiced at first (above the absolute minimum
    # and the initial floor), unvoiced once the floor has learnt it.
    decisions = [vad.is_voiced(noise(0.01, seed)) for seed in range(600)]
    assert not any(decisions[-100:])
    assert vad.noise_floor_dbfs > -45
    assert vad.is_voiced(tone(0.3))  # speech well above the noise still counts


def test_floor_drops_quickly_when_the_line_gets_quiet() -> None:
    vad = EnergyVad()
    for seed in range(600):
        vad.is_voiced(noise(0.01, seed))
    for _ in range(30):
        vad.is_voiced(b"\0" * 320)
    assert vad.noise_floor_dbfs < -80
