"""System announcements made with the real espeak-ng and sox."""

import wave

from appliance.callcore import prompts
from appliance.settings import Settings
from tests.support.audio import is_silent


def test_every_announcement_exists_in_four_languages_as_16khz_mono(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    prompts.ensure_all(settings)
    for name in prompts.TEXTS:
        for lang in ("fr", "en", "de", "it"):
            path = settings.sounds_dir / "system" / lang / f"{name}.wav"
            with wave.open(str(path)) as w:
                assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
                assert w.getnframes() > 16000 // 2
            assert not is_silent(path)


def test_announcements_are_generated_once(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    first = prompts.prompt_path(settings, "no_such_number", "de")
    stamp = first.stat().st_mtime_ns
    assert prompts.prompt_path(settings, "no_such_number", "de") == first
    assert first.stat().st_mtime_ns == stamp


def test_unknown_language_falls_back_to_english(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    assert prompts.prompt_path(settings, "not_available", "xx").parent.name == "en"


def test_languages_differ(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    fr = prompts.prompt_path(settings, "not_available", "fr").read_bytes()
    en = prompts.prompt_path(settings, "not_available", "en").read_bytes()
    assert fr != en
