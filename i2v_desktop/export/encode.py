"""The ffmpeg command of an export: raw frames in on stdin, the preset's file out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

from .audio import AAC_PRIMING, AAC_RATE, SoundInput, codec_args
from .mp4 import COLOUR_TAGS, MOV_MUXER, ffmpeg_url
from .plan import Layout
from .presets import ExportPreset

# ProRes data rates per pixel per frame, from Apple's ProRes white paper (1920×1080 at 29.97 fps:
# proxy 45, LT 102, 422 147, HQ 220 Mbit/s): ProRes has no rate control, so this is the estimate.
PRORES_BITS_PER_PIXEL = {"0": 0.72, "1": 1.64, "2": 2.37, "3": 3.54}
AAC_BITRATE = "128k"  # the silent track's
# ffmpeg's AAC encoder starts every track with one frame of priming (AAC_PRIMING samples, 21 ms at
# 48 kHz). Without an edit list to skip it, the priming plays from time 0; the silence is made that
# much shorter, so priming and silence together last exactly as long as the video.
# The blurred backdrop is made at 1/8 of the output size: the blur hides the difference, at a
# fraction of the cost.
BACKDROP_SCALE = 8
BACKDROP_SIGMA = 6.0  # at backdrop scale: about 50 px at full size
BACKDROP_SHADE = 0.55  # darkened, so the sharp clip stands out in front of it


def export_command(
    preset: ExportPreset,
    ffmpeg: str,
    layout: Layout,
    rate: Fraction,
    duration: float,
    tags: Mapping[str, str],
    target: Path,
    sound: SoundInput | None = None,
) -> list[str]:
    """The ffmpeg command that reads raw RGB frames of `layout.work` size on stdin and writes
    `target` as `preset` asks; with the clip's `sound` (already laid along the export's timeline)
    in its own track where the container has room for one."""
    work_w, work_h = layout.work
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-y",  # the (empty) temporary file already exists: it is created first to claim its name
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-video_size", f"{work_w}x{work_h}",
        "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0",
    ]  # fmt: skip
    codec = None if sound is None else sound_codec(preset)
    if sound is not None and codec is not None:
        command += sound.input_args()
    elif preset.audio:
        # Silence exactly as long as the video: platforms treat a video without sound as a GIF or
        # refuse it, and some editors drop a track that ends early.
        silent = max(duration - AAC_PRIMING / AAC_RATE, 1 / AAC_RATE)
        silence = f"anullsrc=channel_layout=stereo:sample_rate={AAC_RATE}:duration={silent:.6f}"
        command += ["-f", "lavfi", "-i", silence]
    command += ["-filter_complex", _filter_graph(preset, layout), "-map", "[v]"]
    if sound is not None and codec is not None:
        command += ["-map", "1:a", *codec_args(codec, sound.channels)]
    elif preset.audio:
        command += ["-map", "1:a", "-c:a", "aac", "-b:a", AAC_BITRATE, "-ar", str(AAC_RATE), "-ac", "2"]
    command += ["-sn", "-dn"] + _video_codec_args(preset, rate)
    if preset.container in ("mp4", "mov"):
        command += list(MOV_MUXER)
    if preset.container != "gif":  # GIF has no place for tags: the sidecar carries them
        for key, value in tags.items():
            command += ["-metadata", f"{key}={value}"]
    if preset.container == "gif":
        command += ["-loop", "0"]  # 0: forever
    # The muxer named outright: the temporary file's name does not end in the container's suffix.
    return command + ["-f", preset.container, ffmpeg_url(target)]


def sound_codec(preset: ExportPreset) -> str | None:
    """The codec a clip's sound is written with in `preset`'s file, or None where it has no place.

    AAC wherever the platforms and players look for it (MP4, and MOV for them); ProRes goes to
    editors, which expect uncompressed sound beside it (some cannot decode AAC at all): 24-bit PCM;
    WebM takes only Opus or Vorbis; a GIF has no sound."""
    if preset.container == "gif":
        return None
    if preset.container == "webm":
        return "libopus"
    if preset.codec == "prores_ks":
        return "pcm_s24le"
    return "aac"


def _filter_graph(preset: ExportPreset, layout: Layout) -> str:
    """ffmpeg's filter graph from the piped frames ([0:v]) to the encoder's input ([v])."""
    width, height = layout.size
    if layout.mode == "blur":
        picture = _backdrop_graph(layout) + ","
        resize = ""  # the composite is already at the output size
    else:
        picture = "[0:v]"
        resize = "" if layout.work == layout.size else f"{width}:{height}:"
    if preset.codec == "gif":
        scaled = f"scale={resize}flags=lanczos," if resize else ""
        # One palette for the whole clip (a palette per frame would flicker), all 256 entries
        # for colours (a GIF of a video never needs a transparent one).
        return (
            f"{picture}{scaled}split=2[pal_in][gif_in];"
            "[pal_in]palettegen=max_colors=256:reserve_transparent=0[palette];"
            "[gif_in][palette]paletteuse=dither=sierra2_4a[v]"
        )
    # Resize and RGB → YUV in one pass: the BT.709 matrix into limited range, the frames
    # themselves tagged (as in export/mp4.py: recent ffmpeg takes the stream's colour tags from
    # the frames).
    return (
        f"{picture}scale={resize}flags=lanczos+accurate_rnd+full_chroma_int"
        f":out_color_matrix=bt709:out_range=tv,format={preset.pix_fmt},"
        "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709[v]"
    )


def _backdrop_graph(layout: Layout) -> str:
    """The whole clip fitted in the frame, over a blurred and darkened copy that covers it."""
    assert layout.fit is not None
    width, height = layout.size
    fit_w, fit_h = layout.fit
    work_w, work_h = layout.work
    small_w, small_h = max(2, width // BACKDROP_SCALE), max(2, height // BACKDROP_SCALE)
    cover = max(small_w / work_w, small_h / work_h)
    cover_w, cover_h = max(small_w, math.ceil(work_w * cover)), max(small_h, math.ceil(work_h * cover))
    shade = f"{BACKDROP_SHADE:g}"
    return (
        "[0:v]split=2[back][front];"
        f"[back]scale={cover_w}:{cover_h}:flags=area,crop={small_w}:{small_h},"
        f"gblur=sigma={BACKDROP_SIGMA:g},colorchannelmixer=rr={shade}:gg={shade}:bb={shade},"
        f"scale={width}:{height}:flags=bicubic,format=gbrp[backdrop];"
        f"[front]scale={fit_w}:{fit_h}:flags=lanczos,format=gbrp[clip];"
        f"[backdrop][clip]overlay=x={(width - fit_w) // 2}:y={(height - fit_h) // 2}:format=gbrp"
    )


def _video_codec_args(preset: ExportPreset, rate: Fraction) -> list[str]:
    gop = None if preset.gop_seconds is None else max(1, round(preset.gop_seconds * float(rate)))
    if preset.codec == "libx264":
        args = ["-c:v", "libx264", "-preset", preset.speed or "medium", "-crf", str(preset.crf)]
        if preset.profile:
            args += ["-profile:v", preset.profile]
        if preset.profile == "high":
            # -profile only caps the profile: x264's fastest presets switch CABAC and 8×8
            # transforms off and the stream would come out Constrained Baseline (see mp4.py).
            args += ["-x264-params", "cabac=1:8x8dct=1"]
        if preset.maxrate:
            args += ["-maxrate", str(preset.maxrate), "-bufsize", str(preset.bufsize)]
        if preset.b_frames is not None:
            args += ["-bf", str(preset.b_frames)]
        if gop:
            # A keyframe every gop frames exactly, never early at a scene cut, and closed GOPs:
            # platforms cut and re-segment uploads at keyframes.
            args += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-flags", "+cgop"]
        return args + ["-pix_fmt", str(preset.pix_fmt)] + list(COLOUR_TAGS)
    if preset.codec == "prores_ks":
        # vendor apl0: some Apple software trusts ProRes only from an encoder that says it is Apple's.
        return ["-c:v", "prores_ks", "-profile:v", str(preset.profile), "-vendor", "apl0",
                "-pix_fmt", str(preset.pix_fmt)] + list(COLOUR_TAGS)  # fmt: skip
    if preset.codec == "libvpx-vp9":
        # -b:v 0 with -crf: constant quality (with a bitrate, -crf would only be a floor).
        args = ["-c:v", "libvpx-vp9", "-crf", str(preset.crf), "-b:v", "0",
                "-deadline", "good", "-cpu-used", preset.speed or "4", "-row-mt", "1"]  # fmt: skip
        if gop:
            args += ["-g", str(gop)]
        return args + ["-pix_fmt", str(preset.pix_fmt)] + list(COLOUR_TAGS)
    return ["-c:v", "gif"]


def estimated_bitrate(preset: ExportPreset, size: tuple[int, int], fps: float) -> float | None:
    """The most the file's video may need, in bits/s, where it can be known before encoding:
    the VBV cap of a rate-controlled codec, or ProRes's published data rate. None otherwise."""
    if preset.maxrate is not None:
        return float(preset.maxrate)
    if preset.codec == "prores_ks" and preset.profile in PRORES_BITS_PER_PIXEL:
        return PRORES_BITS_PER_PIXEL[preset.profile] * size[0] * size[1] * fps
    return None
