"""Where the sounds the call core plays live, and how audio is converted for it.

Layout under settings.sounds_dir (every file WAV, 16 kHz mono 16-bit: the
workers' conference bridge runs at 16 kHz, so pjsua2 plays them without
resampling):

    custom/<name>.wav           a prompt (Sound.kind "prompt")
    moh/<class>/<name>.wav      a music-on-hold track of <class> (Sound.kind "moh")
    moh/default/_generated.wav  the generated track class "default" always has
                                (a leading "_" is never a valid sound name)
    system/<lang>/<name>.wav    system announcements (appliance.callcore.prompts)
    system/beep.wav             the tone before a recording

Generated files (default music, beep) appear on first use, atomically, so
workers asking at once never see half a file; `build_system_prompts` makes
them all ahead of time (the image build).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

from appliance.errors import NotFound
from appliance.settings import Settings

log = logging.getLogger(__name__)

RATE = 16000
# sox output options: the format the call core plays.
OUTPUT_FORMAT = ("-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer")
DEFAULT_CLASS = "default"
GENERATED_TRACK = "_generated"
SOX_TIMEOUT_S = 120


class SoxError(Exception):
    """sox failed; `message` is its own explanation, cut to something a user can read."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- layout -------------------------------------------------------------------------

def custom_file(name: str) -> str:
    """The file of prompt `name`, relative to sounds_dir (what Sound.file holds)."""
    return f"custom/{name}.wav"


def moh_file(moh_class: str, name: str) -> str:
    """The file of music-on-hold track `name` of `moh_class`, relative to sounds_dir."""
    return f"moh/{moh_class}/{name}.wav"


def sound_path(settings: Settings, name: str, language: str = "") -> Path:
    """The absolute WAV of the Sound named `name`; NotFound if there is no such sound or its file is gone.

    `language` is the caller's: a sound exists in one language (the one it was
    recorded or spoken in), so it is not used to pick a file today.
    """
    from appliance.sounds.models import Sound

    row = Sound.get_or_none(Sound.name == name)
    if row is None:
        raise NotFound("sound", name)
    path = settings.sounds_dir / row.file
    if not path.is_file():
        log.error("sound %s: its file %s is missing", name, path)
        raise NotFound("sound file", str(path))
    return path


def moh_tracks(settings: Settings, moh_class: str) -> list[Path]:
    """The tracks of music class `moh_class`, in name order; "default" always has its generated track first.

    A class with no track left (or an unknown class) falls back to the default
    class, so a caller put on hold never hears silence.
    """
    from appliance.sounds.models import Sound

    rows = (Sound.select(Sound.file).where((Sound.kind == "moh") & (Sound.moh_class == moh_class))
            .order_by(Sound.name))
    tracks = [settings.sounds_dir / r.file for r in rows]
    tracks = [t for t in tracks if t.is_file()]
    if moh_class == DEFAULT_CLASS:
        return [default_track(settings), *tracks]
    if not tracks:
        log.warning("music class %s has no track: playing the default music", moh_class)
        return moh_tracks(settings, DEFAULT_CLASS)
    return tracks


def duration(path: Path | str) -> float:
    """Seconds of audio in a WAV file (0.0 if it cannot be read)."""
    try:
        with wave.open(str(path), "rb") as w:
            rate = w.getframerate()
            return w.getnframes() / rate if rate else 0.0
    except (OSError, wave.Error, EOFError):
        pass
    try:  # a WAV the wave module does not read (A-law...): ask sox
        out = subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, timeout=10)
        return float(out.stdout.strip()) if out.returncode == 0 else 0.0
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0.0


# -- generated sounds ------------------------------------------------------------------

def default_track(settings: Settings) -> Path:
    """The generated default music on hold (made on first use)."""
    path = settings.sounds_dir / moh_file(DEFAULT_CLASS, GENERATED_TRACK)
    if not path.exists():
        _atomic(path, _make_melody)
    return path


def beep_path(settings: Settings) -> Path:
    """The short tone played before a recording starts (made on first use)."""
    path = settings.sounds_dir / "system" / "beep.wav"
    if not path.exists():
        _atomic(path, lambda tmp, out: sox(["-n", *OUTPUT_FORMAT, str(out), "synth", "0.35", "sine", "1000",
                                            "vol", "0.5", "fade", "0.01", "0.35", "0.02", "pad", "0.05", "0.1"]))
    return path


def build_system_prompts(settings: Settings) -> None:
    """Make every generated sound ahead of time: system announcements, beep, default music.

    Meant for the image build (so a first boot plays them at once) and for a
    fresh data directory; each file is only made if missing.
    """
    from appliance.callcore import prompts

    prompts.ensure_all(settings)
    beep_path(settings)
    default_track(settings)


# A calm progression (C, A minor, F, G), each chord a soft pad under a plucked arpeggio.
_CHORDS = (("C3", "E3", "G3"), ("A2", "C3", "E3"), ("F2", "A2", "C3"), ("G2", "B2", "D3"))
_ARPEGGIOS = (("C4", "E4", "G4", "E4"), ("A3", "C4", "E4", "C4"), ("F3", "A3", "C4", "A3"), ("G3", "B3", "D4", "B3"))
_NOTE_S = 0.42


def _make_melody(tmp: Path, out: Path) -> None:
    """A soft synthesised tune, ~13 s, that loops without a click (fades at both ends)."""
    chord_s = _NOTE_S * 4
    parts = []
    for index, (pad_notes, arpeggio) in enumerate(zip(_CHORDS * 2, _ARPEGGIOS * 2, strict=True)):
        pad = tmp / f"pad{index}.wav"
        sox(["-n", *OUTPUT_FORMAT, str(pad), "synth", f"{chord_s}",
             *[arg for note in pad_notes for arg in ("sine", note)],
             "remix", "-", "vol", "0.12", "fade", "q", "0.25", f"{chord_s}", "0.4"])
        notes = []
        for n, note in enumerate(arpeggio):
            path = tmp / f"note{index}_{n}.wav"
            sox(["-n", *OUTPUT_FORMAT, str(path), "synth", f"{_NOTE_S}", "pluck", note,
                 "vol", "0.35", "fade", "0", f"{_NOTE_S}", "0.15"])
            notes.append(str(path))
        arp = tmp / f"arp{index}.wav"
        sox([*notes, str(arp)])
        chord = tmp / f"chord{index}.wav"
        sox(["-m", str(pad), str(arp), str(chord)])
        parts.append(str(chord))
    total = f"{chord_s * len(parts):.2f}"  # explicit: after reverb, sox misreads "until the end" (-0)
    sox([*parts, *OUTPUT_FORMAT, str(out), "reverb", "40", "50", "60", "fade", "t", "0.5", total, "1.0",
         "norm", "-8"])


def _atomic(path: Path, make) -> None:
    """Run make(tmp_dir, out_path), then move the result into place in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".gen-") as tmp:
        out = Path(tmp) / "out.wav"
        make(Path(tmp), out)
        os.replace(out, path)
    log.info("generated %s", path)


# -- sox ------------------------------------------------------------------------------------

def sox(args: list[str], timeout: float = SOX_TIMEOUT_S) -> None:
    """Run sox with `args`; SoxError with its message when it fails."""
    if shutil.which("sox") is None:
        raise SoxError("sox is not installed")
    try:
        done = subprocess.run(["sox", "-V1", *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SoxError(f"sox took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        raise SoxError(_sox_message(done.stderr))


def _sox_message(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = lines[-1] if lines else "sox failed"
    if text.startswith("sox FAIL"):
        text = text.split(":", 1)[-1].strip() if ":" in text else text
    # No server paths in a message a user reads.
    text = re.sub(r"\s*`[^`']*'\s*", " ", text).strip()
    text = re.sub(r"^can't open input file\s*:?\s*", "not a readable audio file: ", text).strip(" :")
    return text[:200]


@functools.cache
def sox_formats() -> frozenset[str]:
    """The file types this sox reads (e.g. "mp3" only with Debian's libsox-fmt-mp3)."""
    try:
        out = subprocess.run(["sox", "-h"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return frozenset()
    for line in out.splitlines():
        if line.startswith("AUDIO FILE FORMATS:"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def convert(source: Path, target: Path, file_type: str | None = None, rate: int | None = None) -> None:
    """Convert any audio sox reads into the call core's WAV (16 kHz mono 16-bit), atomically.

    file_type: sox's type for the input ("al" for raw A-law, "mp3"...), None to
    let sox read the header. rate: the sample rate of a headerless input.
    """
    in_opts: list[str] = []
    if file_type:
        in_opts += ["-t", file_type]
    if rate:
        in_opts += ["-r", str(rate), "-c", "1"]
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".conv-") as tmp:
        out = Path(tmp) / "out.wav"
        # -G: guard against clipping when resampling/mixing channels down.
        sox(["-G", *in_opts, str(source), *OUTPUT_FORMAT, str(out)])
        os.replace(out, target)
