"""A clip's sound: an AAC track in its MP4 (right length, rate and pitch, in step with the picture),
read back, laid along an export's timeline (repeat, boomerang, loop, a new frame rate), and bad
sound refused in one line naming the file. Files are probed with PyAV, not with our own reader."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from i2v_desktop.core.clip import Audio
from i2v_desktop.core.errors import ExportError, InputError
from i2v_desktop.export.audio import SEAM_FADE_S, audio_stream, read_audio, timeline_samples
from i2v_desktop.export.mp4 import encode_command, write_mp4
from i2v_desktop.export.plan import plan_timeline

av = pytest.importorskip("av")

FPS = 24


def tone(seconds: float, rate: int = 24000, hz: float = 440.0, channels: int = 1, level: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    wave = (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.repeat(wave[:, None], channels, axis=1)


def frames(count: int = 48, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    width, height = size
    return np.stack([np.full((height, width, 3), (i * 5) % 256, np.uint8) for i in range(count)])


def probe(path: Path) -> dict:
    """Every stream's codec and length, and the first audio stream decoded: (rate, (channels, n))."""
    with av.open(str(path)) as container:
        streams = [(s.type, s.codec_context.name, float(s.duration * s.time_base) if s.duration else None)
                   for s in container.streams]
        decoded = None
        if container.streams.audio:
            stream = container.streams.audio[0]
            parts = []
            for frame in container.decode(audio=0):
                array = frame.to_ndarray()
                parts.append(array if frame.format.is_planar else array.reshape(frame.samples, -1).T)
            decoded = (stream.codec_context.sample_rate, stream.codec_context.channels, np.concatenate(parts, axis=1))
    return {"streams": streams, "audio": decoded}


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


# -- the clip's MP4 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "channels", "rate"), [(2.5, 1, 24000), (1.0, 2, 48000)])
def test_an_mp4_with_sound_has_one_aac_track_as_long_as_the_video(tmp_path, seconds, channels, rate):
    """Longer sound is cut at the video's end, shorter sound made up with silence; the model's rate
    becomes 48 kHz, its channels stay, a 440 Hz tone stays 440 Hz."""
    path = write_mp4(frames(48), FPS, tmp_path / "clip.mp4", audio=Audio(tone(seconds, rate, channels=channels), rate))
    seen = probe(path)
    kinds = [(kind, codec) for kind, codec, _ in seen["streams"]]
    assert kinds == [("video", "h264"), ("audio", "aac")]
    (_, _, video_s), (_, _, audio_s) = seen["streams"]
    assert video_s == pytest.approx(2.0) and audio_s == pytest.approx(video_s, abs=1 / 48000)
    out_rate, out_channels, decoded = seen["audio"]
    assert (out_rate, out_channels) == (48000, channels)
    heard = decoded[0, 4800 : round(min(seconds, 2.0) * 48000) - 4800]
    assert dominant_hz(heard, 48000) == pytest.approx(440, abs=2)
    assert rms(heard) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)
    if seconds < 2.0:
        assert rms(decoded[0, round(1.1 * 48000) :]) < 0.005  # made up with silence
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # no temporary file left


def test_the_sound_stays_in_step_with_the_picture(tmp_path):
    """A click at 0.5 s is heard at 0.5 s: the encoder's priming does not delay the sound."""
    sound = np.zeros((48000, 2), np.float32)
    sound[24000:24048] = 0.9
    path = write_mp4(frames(24), FPS, tmp_path / "click.mp4", audio=Audio(sound, 48000))
    decoded = probe(path)["audio"][2][0]
    heard_at = int(np.argmax(np.abs(decoded) > 0.3)) / 48000
    assert heard_at == pytest.approx(0.5, abs=0.002)


def test_a_silent_clip_has_no_audio_stream_and_the_same_command_as_before(tmp_path):
    path = write_mp4(frames(12), FPS, tmp_path / "silent.mp4")
    assert [kind for kind, _, _ in probe(path)["streams"]] == ["video"]
    assert audio_stream(path) is None and read_audio(path) is None
    command = encode_command("ffmpeg", 64, 48, Fraction(24), 18, "medium", {}, tmp_path / "x.mp4")
    assert "-an" in command and "-map" not in command and "-c:a" not in command


def test_the_sound_reads_back_as_played(tmp_path):
    path = write_mp4(frames(48), FPS, tmp_path / "clip.mp4", audio=Audio(tone(2.0, 24000, channels=2), 24000))
    stream = audio_stream(path)
    assert (stream.codec, stream.rate, stream.channels) == ("aac", 48000, 2)
    assert stream.describe() == "AAC, 48 kHz, stereo"
    back = read_audio(path)
    assert back.rate == 48000 and back.samples.shape[1] == 2 and not back.samples.flags.writeable
    assert back.duration == pytest.approx(2.0, abs=0.025)  # the last AAC frame may run on a little
    assert dominant_hz(back.samples[4800:-4800, 0], 48000) == pytest.approx(440, abs=2)


def test_reading_the_sound_of_something_that_is_not_a_video_is_one_line(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    for read in (audio_stream, read_audio):
        with pytest.raises(InputError) as caught:
            read(bad)
        assert str(caught.value).startswith(str(bad)) and "\n" not in str(caught.value)
    with pytest.raises(InputError, match="no such file"):
        audio_stream(tmp_path / "gone.mp4")


def test_bad_sound_is_refused_in_one_line_naming_the_file_and_nothing_is_left(tmp_path):
    broken = tone(1.0)
    broken[100] = np.nan
    path = tmp_path / "clip.mp4"
    with pytest.raises(ExportError) as caught:
        write_mp4(frames(24), FPS, path, audio=Audio(broken, 24000))
    assert str(caught.value) == f"{path}: the clip's sound has NaN or infinite samples (the first at 0.004 s)"

    # An Audio refuses a wrong shape itself; one that got past it is refused when written.
    with pytest.raises(ValueError, match=r"audio must be \(n, 1 or 2\) float32 samples, got float32 \(10, 3\)"):
        Audio(np.zeros((10, 3), np.float32), 48000)
    odd = object.__new__(Audio)
    object.__setattr__(odd, "samples", np.zeros((10, 2, 2), np.float32))
    object.__setattr__(odd, "rate", 48000)
    with pytest.raises(ExportError) as caught:
        write_mp4(frames(24), FPS, path, audio=odd)
    assert str(caught.value) == f"{path}: the clip's sound must be (n, 1 or 2) float32 samples, got float32 (10, 2, 2)"
    assert list(tmp_path.iterdir()) == []


def test_loud_sound_is_clipped_not_refused(tmp_path):
    path = write_mp4(frames(24), FPS, tmp_path / "loud.mp4", audio=Audio(tone(1.0, level=1.5), 24000))
    decoded = probe(path)["audio"][2][0]
    assert np.abs(decoded).max() < 1.1 and dominant_hz(decoded[4800:-4800], 48000) == pytest.approx(440, abs=2)


# -- an export's timeline --------------------------------------------------------------------------


def windows(samples: np.ndarray, rate: int, seconds: float = 0.05) -> np.ndarray:
    size = round(seconds * rate)
    count = len(samples) // size
    mono = samples if samples.ndim == 1 else samples[:, 0]
    return np.sqrt(np.mean(np.square(mono[: count * size].reshape(count, size)), axis=1))


def test_a_new_frame_rate_keeps_the_sounds_speed_and_pitch():
    rate, source = 24000, tone(1.0)
    timeline = plan_timeline(24, 24.0, Fraction(30), loop=False)
    out = timeline_samples(source, rate, 24, 24.0, timeline)
    assert timeline.interpolated and len(out) == round(timeline.duration * rate) == rate
    np.testing.assert_array_equal(out, source)  # the same samples: nothing stretched or resampled


def test_a_trim_trims_the_sound():
    rate, source = 24000, tone(2.0)
    timeline = plan_timeline(48, 24.0, Fraction(24), loop=False, duration=1.0)
    out = timeline_samples(source, rate, 48, 24.0, timeline)
    np.testing.assert_array_equal(out, source[:rate])


def test_a_repeated_clip_repeats_its_sound_for_as_long_as_the_video():
    rate, source = 24000, tone(1.0)
    timeline = plan_timeline(24, 24.0, Fraction(24), loop=False, min_duration=3.1)
    assert timeline.extension == "repeat"
    out = timeline_samples(source, rate, 24, 24.0, timeline)
    assert len(out) == round(timeline.duration * rate) and timeline.duration >= 3.1
    assert windows(out, rate).min() > 0.2  # sound all the way: no gap at the seams
    assert dominant_hz(out[:, 0], rate) == pytest.approx(440, abs=1)


def test_a_boomerang_plays_the_sound_forward_and_is_silent_on_the_way_back():
    rate = 24000
    source = tone(1.0)
    timeline = plan_timeline(24, 24.0, Fraction(24), loop=False, extend="boomerang", min_duration=2.5)
    assert timeline.extension == "boomerang" and len(timeline.steps) == 24 + 22 + 24
    out = timeline_samples(source, rate, 24, 24.0, timeline)
    assert len(out) == round(timeline.duration * rate)
    fade = round(SEAM_FADE_S * rate) + 1
    forward = out[: 24 * 1000]
    back = out[24 * 1000 + fade : 46 * 1000]
    again = out[46 * 1000 + fade :]
    np.testing.assert_array_equal(forward, source)
    assert rms(back) == 0.0
    np.testing.assert_allclose(again, source[fade : fade + len(again)], atol=1e-6)


def test_a_loops_seam_is_cross_faded_without_a_click():
    """A tone that does not fit the clip a whole number of times jumps where the clip starts
    again; the seam's cross-fade keeps every step between samples as small as the tone's own."""
    rate, hz = 24000, 437.3
    source = tone(1.0, rate, hz)
    timeline = plan_timeline(24, 24.0, Fraction(24), loop=True, min_duration=2.5)
    assert timeline.extension == "loop"
    out = timeline_samples(source, rate, 24, 24.0, timeline)[:, 0]
    own_step = np.abs(np.diff(source[:, 0])).max()
    hard_cut = abs(float(source[0, 0]) - float(source[-1, 0]))
    assert hard_cut > 3 * own_step  # the test would see a click
    seam = slice(rate - 50, rate + round(SEAM_FADE_S * rate) + 50)
    assert np.abs(np.diff(out[seam])).max() < 1.5 * own_step
    assert windows(out, rate).min() > 0.2


# -- every export preset --------------------------------------------------------------------------

SOUND_CODECS = {"reels": "aac", "tiktok": "aac", "shorts": "aac", "feed": "aac", "square": "aac",
                "landscape": "aac", "source": "aac", "prores": "pcm_s24le", "webm": "opus", "gif": None}


@pytest.fixture(scope="module")
def sound_exports(clip: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The real 1 s clip at 320×180 with a stereo 440 Hz tone, exported once per built-in preset."""
    import cv2

    from i2v_desktop.export.social import export_clip, load_export_presets

    small = np.stack([cv2.resize(frame, (320, 180), interpolation=cv2.INTER_AREA) for frame in clip])
    folder = tmp_path_factory.mktemp("sound")
    sound = Audio(tone(1.0, 24000, channels=2), 24000)
    return {pid: export_clip(small, 24, preset, folder / f"clip-{pid}{preset.extension}", audio=sound)
            for pid, preset in load_export_presets().presets.items()}


@pytest.mark.parametrize("pid", sorted(SOUND_CODECS))
def test_every_export_keeps_the_sound_for_as_long_as_its_video(pid, sound_exports):
    """Platform files lengthened to their 3 s minimum (and at 30 fps) carry the tone all the way,
    at its own pitch; ProRes gets PCM for editors, WebM Opus, a GIF nothing (and does not fail)."""
    import json

    path = sound_exports[pid]
    seen = probe(path)
    sidecar = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    if SOUND_CODECS[pid] is None:
        assert [kind for kind, _, _ in seen["streams"]] == ["video"] and sidecar["audio"] is None
        return
    kinds = [(kind, codec) for kind, codec, _ in seen["streams"]]
    assert kinds == [("video", kinds[0][1]), ("audio", SOUND_CODECS[pid])]
    rate, channels, decoded = seen["audio"]
    assert (rate, channels) == (48000, 2)
    video_s = sidecar["duration"]
    assert len(decoded[0]) / rate == pytest.approx(video_s, abs=0.025)  # an Opus or AAC frame at most
    if seen["streams"][1][2] is not None:  # MP4 and MOV give each track's length
        assert seen["streams"][1][2] == pytest.approx(seen["streams"][0][2], abs=1 / 48000)
    body = decoded[0, 2400 : round((video_s - 0.05) * rate)]
    assert dominant_hz(body, rate) == pytest.approx(440, abs=2)
    assert windows(body, rate).min() > 0.2  # heard all the way, across every seam
    assert sidecar["audio"] == {"source": "clip", "codec": {"opus": "libopus"}.get(SOUND_CODECS[pid], SOUND_CODECS[pid]),
                                "rate": 48000, "channels": 2}


def test_a_boomerang_export_is_silent_on_the_way_back(tmp_path):
    from i2v_desktop.export.social import export_clip, load_export_presets

    preset = load_export_presets().get("square")
    path = export_clip(frames(24, (96, 96)), 24, preset, tmp_path / "b.mp4", extend="boomerang",
                       audio=Audio(tone(1.0, 48000), 48000))
    rate, _, decoded = probe(path)["audio"]
    video_s = probe(path)["streams"][0][2]
    assert len(decoded[0]) / rate == pytest.approx(video_s, abs=0.025)
    level = windows(decoded[0], rate)  # 50 ms windows; at 30 fps the way back is 22/24 s after 1 s
    assert level[2:19].min() > 0.3 and level[21:38].max() < 0.01 and level[40:58].min() > 0.3


# Commands written before clips had sound, word for word (from the commit before sound existed).
COMMANDS_BEFORE = {
    "reels": "ffmpeg -hide_banner -nostdin -loglevel error -y -f rawvideo -pix_fmt rgb24 -video_size 405x720 "
             "-framerate 30/1 -i pipe:0 -f lavfi -i anullsrc=channel_layout=stereo:sample_rate=48000:duration=2.978667 "
             "-filter_complex [0:v]scale=1080:1920:flags=lanczos+accurate_rnd+full_chroma_int:out_color_matrix=bt709"
             ":out_range=tv,format=yuv420p,setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709[v] "
             "-map [v] -map 1:a -c:a aac -b:a 128k -ar 48000 -ac 2 -sn -dn -c:v libx264 -preset veryfast -crf 19 "
             "-profile:v high -x264-params cabac=1:8x8dct=1 -maxrate 25000000 -bufsize 50000000 -g 60 -keyint_min 60 "
             "-sc_threshold 0 -flags +cgop -pix_fmt yuv420p -color_primaries bt709 -color_trc bt709 -colorspace bt709 "
             "-color_range tv -use_editlist 0 -movflags +faststart+use_metadata_tags+negative_cts_offsets "
             "-metadata k=v -f mp4 file:/tmp/out.mp4",
    "prores": "ffmpeg -hide_banner -nostdin -loglevel error -y -f rawvideo -pix_fmt rgb24 -video_size 405x720 "
              "-framerate 30/1 -i pipe:0 -filter_complex [0:v]scale=1080:1920:flags=lanczos+accurate_rnd+full_chroma_int"
              ":out_color_matrix=bt709:out_range=tv,format=yuv422p10le,setparams=range=tv:color_primaries=bt709"
              ":color_trc=bt709:colorspace=bt709[v] -map [v] -sn -dn -c:v prores_ks -profile:v 2 -vendor apl0 "
              "-pix_fmt yuv422p10le -color_primaries bt709 -color_trc bt709 -colorspace bt709 -color_range tv "
              "-use_editlist 0 -movflags +faststart+use_metadata_tags+negative_cts_offsets -metadata k=v -f mov "
              "file:/tmp/out.mp4",
    # (The clip's frames come already in YUV 4:2:0 since the conversion moved out of ffmpeg, export/yuv.py.)
    "clip": "ffmpeg -hide_banner -nostdin -loglevel error -y -f rawvideo -pix_fmt yuv420p -video_size 64x48 "
            "-framerate 24/1 -i pipe:0 -an -sn -dn -vf "
            "format=yuv420p,setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709 "
            "-c:v libx264 -preset medium -crf 18 -profile:v high -x264-params cabac=1:8x8dct=1 -pix_fmt yuv420p "
            "-color_primaries bt709 -color_trc bt709 -colorspace bt709 -color_range tv -use_editlist 0 "
            "-movflags +faststart+use_metadata_tags+negative_cts_offsets -metadata k=v -f mp4 file:/tmp/x.mp4",
}


def test_without_sound_every_command_is_word_for_word_as_before(tmp_path):
    from i2v_desktop.export import social
    from i2v_desktop.export.audio import sound_input

    library = social.load_export_presets()
    layout = social.Layout((1080, 1920), (438, 0, 405, 720), (405, 720), "scale")
    made = {pid: social.export_command(library.get(pid), "ffmpeg", layout, Fraction(30), 3.0, {"k": "v"},
                                       Path("/tmp/out.mp4")) for pid in ("reels", "prores")}
    made["clip"] = encode_command("ffmpeg", 64, 48, Fraction(24), 18, "medium", {"k": "v"}, Path("/tmp/x.mp4"))
    assert {name: " ".join(command) for name, command in made.items()} == COMMANDS_BEFORE

    # With sound, the clip's track replaces the platform's silence; ProRes gets PCM for editors.
    with sound_input(tone(3.0, 48000, channels=2), 48000, tmp_path / "x.mp4") as sound:
        reels = " ".join(social.export_command(library.get("reels"), "ffmpeg", layout, Fraction(30), 3.0, {},
                                               Path("/tmp/out.mp4"), sound))
        prores = " ".join(social.export_command(library.get("prores"), "ffmpeg", layout, Fraction(30), 3.0, {},
                                                Path("/tmp/out.mp4"), sound))
    assert "anullsrc" not in reels and "-map 1:a -c:a aac -b:a 192k -ar 48000" in reels
    assert f"-f f32le -ar 48000 -ac 2 -i file:{sound.path}" in reels
    assert "-map 1:a -c:a pcm_s24le -ar 48000" in prores
    assert not sound.path.exists()  # the raw file goes with the block


def test_no_room_for_the_sounds_temporary_file_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    import errno
    import tempfile

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    path = tmp_path / "clip.mp4"
    with pytest.raises(ExportError) as caught:
        write_mp4(frames(24), FPS, path, audio=Audio(tone(1.0), 24000))
    assert str(caught.value).startswith(f"{path}: no temporary file for the sound (") and "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_foreign_files_surround_sound_reads_back_as_stereo(tmp_path):
    import subprocess

    from i2v_desktop.export.mp4 import ffmpeg_exe

    path = tmp_path / "phone.mp4"
    subprocess.run([ffmpeg_exe(path), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=440:d=1",
                    "-f", "lavfi", "-i", "color=c=gray:s=64x64:r=24:d=1", "-filter_complex",
                    "[0:a]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[a]", "-map", "1:v", "-map", "[a]",
                    "-c:a", "aac", str(path)], check=True)
    stream = audio_stream(path)
    assert (stream.rate, stream.channels, stream.describe()) == (44100, 6, "AAC, 44.1 kHz, 6 channels")
    sound = read_audio(path)
    assert sound.rate == 44100 and sound.samples.shape[1] == 2
    assert dominant_hz(sound.samples[4410:-4410, 0], 44100) == pytest.approx(440, abs=2)
