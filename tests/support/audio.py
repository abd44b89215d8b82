"""What a recording contains: dominant frequency, presence of a tone, silence.

Two-way audio is proven by finding the other side's tone in what a phone
recorded (DESIGN.md, Testing).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def read_wav(path: str | Path, skip_seconds: float = 0.0) -> tuple[np.ndarray, int]:
    """Mono float samples in [-1, 1] and the sample rate, after skipping the first seconds."""
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        channels = w.getnchannels()
        width = w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError(f"{path}: only 16-bit PCM WAV is supported, got {8 * width}-bit")
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples[int(skip_seconds * rate):], rate


def _spectrum(samples: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    windowed = samples * np.hanning(len(samples))
    return np.fft.rfftfreq(len(samples), 1.0 / rate), np.abs(np.fft.rfft(windowed))


def rms(wav_path: str | Path, skip_seconds: float = 0.0) -> float:
    samples, _ = read_wav(wav_path, skip_seconds)
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0


def is_silent(wav_path: str | Path, skip_seconds: float = 0.0, threshold: float = 0.005) -> bool:
    """True when the recording holds nothing louder than `threshold` RMS (-46 dBFS)."""
    return rms(wav_path, skip_seconds) < threshold


def dominant_frequency(wav_path: str | Path, skip_seconds: float = 0.5) -> float:
    """The strongest frequency (Hz) in the recording after `skip_seconds`, 0.0 if silent."""
    samples, rate = read_wav(wav_path, skip_seconds)
    if len(samples) < rate // 10 or is_silent_samples(samples):
        return 0.0
    freqs, mags = _spectrum(samples, rate)
    mags[freqs < 50] = 0  # ignore DC and hum
    return float(freqs[int(np.argmax(mags))])


def is_silent_samples(samples: np.ndarray, threshold: float = 0.005) -> bool:
    return float(np.sqrt(np.mean(samples**2))) < threshold


def has_tone(wav_path: str | Path, freq: float, tolerance: float = 30.0, skip_seconds: float = 0.5,
             min_share: float = 0.2) -> bool:
    """True when a tone at `freq` ± `tolerance` Hz carries at least `min_share` of the energy.

    The share test (rather than "is the strongest") lets a test check a tone
    that is mixed with another one, e.g. an echo over the caller's own tone.
    """
    samples, rate = read_wav(wav_path, skip_seconds)
    if len(samples) < rate // 10 or is_silent_samples(samples):
        return False
    freqs, mags = _spectrum(samples, rate)
    energy = mags**2
    energy[freqs < 50] = 0
    total = energy.sum()
    band = energy[(freqs >= freq - tolerance) & (freqs <= freq + tolerance)].sum()
    return bool(total > 0 and band / total >= min_share)


ENVELOPE_PER_SECOND = 40  # 25 ms loudness frames


def _envelope(samples: np.ndarray, rate: int, per_second: int = ENVELOPE_PER_SECOND) -> np.ndarray:
    n = max(1, rate // per_second)
    frames = samples[: len(samples) // n * n].reshape(-1, n)
    return np.sqrt((frames**2).mean(axis=1))


def _pearson_slide(long: np.ndarray, short: np.ndarray) -> np.ndarray:
    """Pearson r of `short` against every window of `long` of its length."""
    windows = np.lib.stride_tricks.sliding_window_view(long, len(short))
    s = (short - short.mean()) / (short.std() + 1e-12)
    w = windows - windows.mean(axis=1, keepdims=True)
    w /= w.std(axis=1, keepdims=True) + 1e-12
    return w @ s / len(short)


def similarity(recording: str | Path, reference: str | Path, chunk_seconds: float = 0.8,
               slack_seconds: float = 0.5) -> float:
    """How well the loudness contour of `reference` is found in `recording` (mean Pearson r, 0..1).

    Robust to codecs, levels, sample rates and the small gaps of a loaded
    machine: the reference's 25 ms loudness envelope is placed at its best
    offset in the recording, then each 0.8 s chunk of it finds its own best
    place within ±0.5 s of there. About 0.9 for the announcement a phone
    heard, under 0.7 for another sentence.
    """
    a, ra = read_wav(recording)
    b, rb = read_wav(reference)
    heard, ref = _envelope(a, ra), _envelope(b, rb)
    if len(heard) < len(ref):  # the recording is cut short: pad it with silence
        heard = np.concatenate([heard, np.zeros(len(ref) - len(heard))])
    if len(ref) < 10:
        return 0.0
    offset = int(np.argmax(_pearson_slide(heard, ref)))
    n = max(4, int(chunk_seconds * ENVELOPE_PER_SECOND))
    slack = int(slack_seconds * ENVELOPE_PER_SECOND)
    scores = []
    for start in range(0, len(ref) - n + 1, n):
        chunk = ref[start:start + n]
        if chunk.std() < 1e-9:
            continue
        lo, hi = max(0, offset + start - slack), min(len(heard), offset + start + n + slack)
        if hi - lo >= n:
            scores.append(float(_pearson_slide(heard[lo:hi], chunk).max()))
    return max(0.0, float(np.mean(scores))) if scores else 0.0
