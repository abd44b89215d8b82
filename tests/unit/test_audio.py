import subprocess

import pytest

from tests.support.audio import dominant_frequency, has_tone, is_silent, similarity


def sox(path, *effect):
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), *effect], check=True)
    return path


@pytest.mark.parametrize("freq", [440, 700, 1100])
def test_dominant_frequency_of_a_sine_is_its_frequency(tmp_path, freq):
    wav = sox(tmp_path / "t.wav", "synth", "2", "sine", str(freq), "vol", "0.5")
    assert abs(dominant_frequency(wav) - freq) < 5


def test_has_tone_finds_the_tone_and_rejects_another(tmp_path):
    wav = sox(tmp_path / "t.wav", "synth", "2", "sine", "700", "vol", "0.5")
    assert has_tone(wav, 700, tolerance=20)
    assert not has_tone(wav, 1100, tolerance=20)


def test_has_tone_finds_both_tones_of_a_mix(tmp_path):
    wav = sox(tmp_path / "mix.wav", "synth", "2", "sine", "700", "sine", "1100", "remix", "1-2", "vol", "0.4")
    assert has_tone(wav, 700) and has_tone(wav, 1100)


def test_silence_has_no_tone_and_no_frequency(tmp_path):
    wav = sox(tmp_path / "s.wav", "trim", "0", "2")
    assert is_silent(wav)
    assert dominant_frequency(wav) == 0.0
    assert not has_tone(wav, 700)


def test_skip_seconds_ignores_the_start(tmp_path):
    first = sox(tmp_path / "a.wav", "synth", "1", "sine", "700", "vol", "0.5")
    second = sox(tmp_path / "b.wav", "synth", "2", "sine", "1100", "vol", "0.5")
    both = tmp_path / "ab.wav"
    subprocess.run(["sox", str(first), str(second), str(both)], check=True)
    assert abs(dominant_frequency(both, skip_seconds=1.2) - 1100) < 5


def test_noise_is_not_silent_but_has_no_tone(tmp_path):
    wav = sox(tmp_path / "n.wav", "synth", "2", "whitenoise", "vol", "0.3")
    assert not is_silent(wav)
    assert not has_tone(wav, 700)


def test_similarity_finds_the_same_pattern_and_not_another(tmp_path):
    import random

    def syllables(name, seed):
        """A speech-like loudness contour: 24 random bursts and pauses."""
        rng = random.Random(seed)
        parts = []
        for i in range(24):
            seconds, volume = round(rng.uniform(0.05, 0.2), 3), round(rng.choice([0.0, 0.05, 0.3, 0.6, 0.9]), 2)
            parts.append(str(sox(tmp_path / f"{name}{i}.wav", "synth", str(seconds), "sine", "500", "vol", str(volume))))
        out = tmp_path / f"{name}.wav"
        subprocess.run(["sox", *parts, str(out)], check=True)
        return out

    first, other = syllables("first", 1), syllables("other", 2)
    # The same sentence inside a longer recording, at another rate.
    padded = tmp_path / "padded.wav"
    subprocess.run(["sox", str(first), "-r", "8000", str(padded), "pad", "1", "1"], check=True)
    assert similarity(padded, first) > 0.9
    assert similarity(padded, other) < 0.7
