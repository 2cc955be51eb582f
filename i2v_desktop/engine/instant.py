"""The instant engine: motion from the photo itself, on any machine, with no GPU and no weights.

The photo is split into the subject and a background completed behind it; a virtual camera
(engine/camera.py) moves the two layers with parallax, or, for presets whose camera stays still,
a smooth time-periodic flow field sways the soft parts of the scene (hair, fur, foliage) while the
rigid core of the subject holds still. Everything is OpenCV on the CPU: a 1080×1920 frame takes a
few tens of milliseconds.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable, Mapping

import cv2
import numpy as np

from ..core.cancel import CancelToken
from ..core.clip import Clip, FrameLender, FrameSink, RenderInfo, frame_buffer
from ..core.events import EventSink, Preview, Stage, StageChanged, StepProgress
from ..core.framing import Box, crop_box, flatten, output_size, subject_box
from ..core.image import SourceImage, load_image
from ..core.subject import complete_background, subject_matte
from ..core.presets import PresetLibrary, load_presets
from ..core.request import GenerationRequest
from .base import Engine
from .camera import FrameMotion, Layers, is_layered, layer_transforms, motion_path, reach, required_zoom, take_for
from .keyframed import KeyframedScene
from .plan import check_request, plan_fps, plan_frames, plan_sound
from .registry import ModelEntry, built_in_entries
from .wind import WindField

# The engine's limits (frame rates, lengths, output area per quality tier) are its registry entry's
# (resources/models.json, engine "instant"), planned by the same code as a diffusion model's.
# The photo around the framed view that the camera may reveal, as a share of the view's size.
CONTEXT = 0.25
KEYFRAMES_NOTE = "keyframes: the camera follows your framings (the preset's own camera move is not used)"
PREVIEW_WIDTH = 320
PREVIEW_INTERVAL_S = 0.25
# Luminance → how much a specular highlight shows there: nothing on dark parts, most on bright ones.
GLOSS = (np.clip((np.arange(256, dtype=np.float32) / 255 - 0.25) / 0.6, 0, 1) ** 1.5).astype(np.float32)


@dataclass(frozen=True)
class InstantPlan:
    width: int
    height: int
    num_frames: int
    fps: float
    controls: Mapping[str, float]
    loop: bool
    notes: tuple[str, ...] = ()


def instant_entry() -> ModelEntry:
    """The registry's entry for this engine."""
    return next(entry for entry in built_in_entries().values() if entry.engine == "instant")


def plan_instant(entry: ModelEntry, request: GenerationRequest, source_size: tuple[int, int],
                 controls: Mapping[str, float]) -> InstantPlan:
    check_request(entry, request)
    fps = plan_fps(entry, request.fps)
    frames = plan_frames(entry, request.duration, fps)
    width, height = output_size(source_size, request.aspect, entry.area(request.quality), entry.multiple)
    sound_note = plan_sound(entry, request)[1]  # the photo alone makes no sound
    notes = () if sound_note is None else (sound_note,)
    return InstantPlan(width, height, frames, fps, dict(controls), request.loop, notes)


class Scene:
    """The photo prepared for one render: layers on a canvas a little larger than the frame.

    The canvas is the framed view plus up to CONTEXT of the photo around it, scaled so that the
    rest view maps onto the output at 1:1 (sharp) after an extra `zoom` that keeps every frame's
    view inside the photo.
    """

    def __init__(self, source: SourceImage, plan: InstantPlan, crop_center: tuple[float, float] | None, seed: int):
        self.size = (plan.width, plan.height)
        width, height = self.size
        subject = subject_box(source)
        view = crop_box(source.size, width / height, subject, crop_center)
        self.layered = is_layered(plan.controls)
        self.highlight = float(plan.controls.get("highlight", 0.0))
        self.path = motion_path(plan.controls, plan.num_frames, plan.loop, take_for(seed))

        # How far the photo reaches from the view's centre on each side, in output pixels at zoom 1.
        scale = width / view.w
        photo = np.array([view.x + view.w / 2, view.y + view.h / 2, source.size[0] - view.x - view.w / 2,
                          source.size[1] - view.y - view.h / 2]) * scale
        context = np.array([width, height, width, height]) * (0.5 + CONTEXT)
        touched = (False,) * 4  # photo edges that cut the subject off (found once the matte exists)
        for _ in range(3):
            zoom, center = 1.0, self._subject_center(subject, view, scale, 1.0)
            for _ in range(2):  # the subject's rest position depends on the zoom: settle it
                layers = [self._transforms(m, center) for m in self.path]
                # (The wind needs no margin: it fades out at the frame's edges, engine/wind.py.)
                needed = reach([layer.background for layer in layers], self.size)
                zoom = required_zoom(needed, photo) * 1.002
                if any(touched):
                    held = reach([layer.subject for layer in layers], self.size)
                    zoom = max(zoom, required_zoom(held, photo, touched) * 1.002)
                    needed = np.maximum(needed, np.where(touched, held, 0.0))
                center = self._subject_center(subject, view, scale, zoom)
            # The canvas: the view and as much context as the motion needs (at least CONTEXT), as
            # far as the photo goes.
            extents = np.minimum(photo * zoom, np.maximum(context, needed + 2.0))
            if self._build(source, view, scale, zoom, extents) == touched or not self.layered:
                break
            touched = self._touched
        self.subject_center = center
        self.zoom = zoom
        self._finish(plan, seed)

    def _build(self, source: SourceImage, view: Box, scale: float, zoom: float, extents: np.ndarray) -> tuple[bool, ...]:
        """Canvas and matte for one zoom; returns the photo edges the subject is cut off by."""
        width, height = self.size
        k = scale * zoom
        cx, cy = view.x + view.w / 2, view.y + view.h / 2
        x0, y0 = cx - extents[0] / k, cy - extents[1] / k
        x1, y1 = cx + extents[2] / k, cy + extents[3] / k
        cw, ch = max(width, math.ceil((x1 - x0) * k)), max(height, math.ceil((y1 - y0) * k))
        if k < 1:  # shrinking, the canvas starts on a whole photo pixel (see _resample)
            x0, y0 = round(x0), round(y0)
        rgb = _resample(flatten(source), k, x0, y0, (cw, ch))
        alpha = None if source.alpha is None else _resample(source.alpha, k, x0, y0, (cw, ch))
        # Rest view → canvas: the view's centre sits at the canvas point of the view's centre.
        vx = (view.x + view.w / 2 - x0) * k - width / 2
        vy = (view.y + view.h / 2 - y0) * k - height / 2
        self.rest_to_canvas = np.array([[1, 0, vx], [0, 1, vy], [0, 0, 1]], dtype=np.float64)
        self.canvas = rgb
        self.matte = subject_matte(rgb, alpha)
        # A subject reaching the canvas edge where the canvas is the photo's edge is cut off by the
        # photo: that edge of the subject layer must never come into view.
        band = 3
        at_photo_edge = (x0 <= 0.5, y0 <= 0.5, x1 >= source.size[0] - 0.5, y1 >= source.size[1] - 0.5)
        edges = (self.matte[:, :band], self.matte[:band], self.matte[:, -band:], self.matte[-band:])
        self._touched = tuple(bool(e and m.max() > 0.5) for e, m in zip(at_photo_edge, edges))
        return self._touched

    def _finish(self, plan: InstantPlan, seed: int) -> None:
        width, height = self.size
        rgb = self.canvas
        self._scratch = np.empty((height, width, 4), np.uint8)
        if self.layered:
            background = complete_background(rgb, self.matte)
            self.background = cv2.cvtColor(background, cv2.COLOR_RGB2RGBA)
            self.subject_rgba, self.subject_bounds = _subject_layer(rgb, self.matte, background)
        else:
            self.canvas_rgba = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
            self.wind = WindField(rgb, self.matte, self.size, self.rest_to_canvas, plan.controls.get("wind", 0.0),
                                  plan.num_frames / plan.fps, seed)

    def _subject_center(self, subject: Box, view: Box, scale: float, zoom: float) -> tuple[float, float]:
        width, height = self.size
        sx, sy = subject.center
        return (width / 2 + (sx - view.x - view.w / 2) * scale * zoom,
                height / 2 + (sy - view.y - view.h / 2) * scale * zoom)

    def _transforms(self, motion: FrameMotion, center: tuple[float, float]) -> Layers:
        return layer_transforms(motion, self.size, center)

    def subject_transform(self, index: int) -> np.ndarray:
        """Rest view → output for the subject at frame `index` (3×3); identity where the camera is still."""
        if not self.layered:
            return np.eye(3)
        return self._transforms(self.path[index], self.subject_center).subject

    # -- one frame --------------------------------------------------------------------------

    def render(self, index: int, out: np.ndarray) -> None:
        motion = self.path[index]
        if not self.layered:
            self.wind.render(motion, self.canvas_rgba, self._scratch)
            cv2.cvtColor(self._scratch, cv2.COLOR_RGBA2RGB, dst=out)
            return
        width, height = self.size
        layers = self._transforms(motion, self.subject_center)
        # Canvas → output for each layer: back to rest view, then the layer's move. The layers are
        # four-channel because OpenCV's warps run about three times faster on four channels.
        bg = layers.background @ np.linalg.inv(self.rest_to_canvas)
        frame = self._scratch
        cv2.warpAffine(self.background, bg[:2], (width, height), dst=frame, flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REFLECT)
        self._compose(layers, frame, motion)
        cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB, dst=out)

    def _compose(self, layers: Layers, frame: np.ndarray, motion: FrameMotion) -> None:
        """The subject layer over `frame` (four-channel), in place."""
        width, height = self.size
        fg = layers.subject @ np.linalg.inv(self.rest_to_canvas)
        # Only the part of the frame the subject can reach is warped and composited.
        x0, y0, x1, y1 = _reach(fg, self.subject_bounds, width, height)
        if x1 <= x0 or y1 <= y0:
            return
        out = frame
        fg = _shift(-x0, -y0) @ fg
        size = (x1 - x0, y1 - y0)
        if fg[2, 0] == 0 and fg[2, 1] == 0:  # no perspective this frame: the cheaper affine warp
            subject = cv2.warpAffine(self.subject_rgba, fg[:2], size, flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        else:
            subject = cv2.warpPerspective(self.subject_rgba, fg, size, flags=cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        # Premultiplied "over": out = subject + out × (1 − α), all in saturating 8-bit OpenCV ops.
        # (OpenCV's channel ops, not numpy slicing: a strided copy of 2 MP costs 10× more.)
        roi = out[y0:y1, x0:x1]
        inverse = cv2.bitwise_not(cv2.extractChannel(subject, 3))
        cv2.multiply(roi, cv2.merge([inverse, inverse, inverse, inverse]), dst=roi, scale=1 / 255)
        cv2.add(roi, subject, dst=roi)
        if self.highlight > 0:
            self._highlight(roi, subject, motion.sweep, x0)

    def _highlight(self, out: np.ndarray, subject: np.ndarray, sweep: float, left: int) -> None:
        """A soft vertical band of light crossing the subject as it turns, brightest on its bright,
        glossy-looking parts (a turntable shot's moving specular). `out` and `subject` are the
        frame's region starting at column `left`."""
        frame_width = self.size[0]
        width = out.shape[1]
        cx = self.subject_center[0] + sweep * 0.35 * frame_width - left
        sigma = 0.08 * frame_width
        lo, hi = max(0, int(cx - 3 * sigma)), min(width, int(cx + 3 * sigma) + 1)
        if lo >= hi:
            return
        # The warped subject is premultiplied: its luminance is already zero off the subject.
        gloss = cv2.LUT(cv2.cvtColor(subject[:, lo:hi], cv2.COLOR_RGBA2GRAY), GLOSS)
        xs = np.arange(lo, hi, dtype=np.float32)
        band = np.exp(-(((xs - cx) / sigma) ** 2)) * np.float32(self.highlight * 255.0)
        light = cv2.convertScaleAbs(gloss * band[None, :])
        roi = out[:, lo:hi]
        cv2.add(roi, cv2.merge([light, light, light, light]), dst=roi)  # saturating, unlike numpy's +


def without_subject(scene: Scene, plan: InstantPlan) -> tuple[Scene, InstantPlan]:
    """(scene, plan) for a layered scene in which no subject could be cut out; any other as it is.

    A camera move that parallax would show gets layers by depth where the optional depth model is
    downloaded (engine/depth.py). An orbit without them, and a turntable, get a relief estimated
    from the photo's own cues (engine/relief.py): one flat layer would make the orbit a slide and
    leave the turntable nothing to turn. A dolly or a pan without depth stays one layer, which
    shows those moves as they are.
    """
    controls = plan.controls
    if not scene.layered or scene.matte.any():
        return scene, plan
    if any(controls.get(name) for name in ("zoom", "pan_x", "pan_y", "orbit")):
        from .depth import deepen

        deeper, plan = deepen(scene, plan)
        if deeper is not scene:
            return deeper, plan
    if any(controls.get(name) for name in ("orbit", "spin")):
        from .relief import relieve

        return relieve(scene, plan)
    return scene, plan


def _subject_layer(rgb: np.ndarray, matte: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The subject as premultiplied RGBA, and the box (x, y, w, h) where it is not transparent.

    At a soft edge the photo is a mix, α·subject + (1 − α)·what was behind it. The layer's colour
    is the photo less (1 − α)·`background` (the completed background it goes over), so that no
    rim of the colour that was behind the subject travels with it (a light halo around dark hair).
    Where the photo cannot be such a mix with the matte's α (a strand of hair the matte gave 0.1,
    over a light fill), α is raised to the least that explains the photo: the strand goes with the
    subject instead of staying behind as a ghost, and at rest the layers give back the photo.
    """
    alpha8 = (matte * 255 + 0.5).astype(np.uint8)
    premultiplied = cv2.multiply(rgb, cv2.merge([alpha8, alpha8, alpha8]), scale=1 / 255)
    layer = cv2.merge([*cv2.split(premultiplied), alpha8])
    points = cv2.findNonZero(alpha8)
    if points is None:
        return layer, (0, 0, 0, 0)
    # Only the edge needs the unmixing: where α is 0 or 1, the photo times α is already exact.
    # (The edge is a few per cent of the subject's box: indexing it costs a fraction of the box.)
    ys, xs = np.nonzero((alpha8 > 0) & (alpha8 < 255))
    photo, behind = rgb[ys, xs].astype(np.float32), background[ys, xs].astype(np.float32)
    darker = (behind - photo) / np.maximum(behind, 1.0)  # the subject's colour would be below 0
    lighter = (photo - behind) / np.maximum(255.0 - behind, 1.0)  # ... or above 255
    needed = np.maximum(darker, lighter).max(axis=1)
    alpha = np.clip(np.maximum(matte[ys, xs], needed), 0.0, 1.0)[:, None]
    colour = np.clip(photo - (1.0 - alpha) * behind, 0.0, alpha * 255.0) + 0.5
    layer[ys, xs, :3] = colour.astype(np.uint8)
    layer[ys, xs, 3] = (alpha[:, 0] * 255 + 0.5).astype(np.uint8)
    return layer, cv2.boundingRect(points)


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)


def _reach(matrix: np.ndarray, bounds: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """The output rectangle (x0, y0, x1, y1) that canvas rectangle `bounds` lands in, clipped."""
    x, y, w, h = bounds
    corners = np.array([[x, y, 1], [x + w, y, 1], [x + w, y + h, 1], [x, y + h, 1]], dtype=np.float64).T
    mapped = matrix @ corners
    px, py = mapped[0] / mapped[2], mapped[1] / mapped[2]
    x0, y0 = max(0, int(math.floor(px.min())) - 1), max(0, int(math.floor(py.min())) - 1)
    x1, y1 = min(width, int(math.ceil(px.max())) + 2), min(height, int(math.ceil(py.max())) + 2)
    return x0, y0, x1, y1


def _resample(image: np.ndarray, k: float, x0: float, y0: float, size: tuple[int, int]) -> np.ndarray:
    """The photo from (x0, y0) on, scaled by k, as an image of `size` (outside the photo, its
    reflection). Shrinking, it is area-averaged (no aliasing) from the photo pixel nearest
    (x0, y0), so no second resampling softens it; the scale is then k to within half a photo pixel
    over the whole width. Enlarging, Lanczos, sub-pixel exact."""
    if k >= 1:
        matrix = np.array([[k, 0, -x0 * k], [0, k, -y0 * k]], dtype=np.float64)
        return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)
    # Only the part of the photo the result shows is averaged (a 9:16 view of a 4:3 photo needs
    # under two thirds of it); where that part reaches past the photo, the photo is reflected.
    height, width = image.shape[:2]
    left, top = round(x0), round(y0)
    right, bottom = left + max(1, round(size[0] / k)), top + max(1, round(size[1] / k))
    x_in, y_in = min(max(left, 0), width - 1), min(max(top, 0), height - 1)
    part = image[y_in:max(y_in + 1, min(bottom, height)), x_in:max(x_in + 1, min(right, width))]
    pad = (y_in - top, bottom - y_in - part.shape[0], x_in - left, right - x_in - part.shape[1])
    if any(pad):
        part = cv2.copyMakeBorder(np.ascontiguousarray(part), *(max(0, p) for p in pad), cv2.BORDER_REFLECT)
    return cv2.resize(part, size, interpolation=cv2.INTER_AREA)


class InstantEngine(Engine):
    name = "instant"
    # ultrafast: 72 frames of 1080×1920 in ~1.1 s on two cores (veryfast takes 1.8 s); the files are
    # larger at the same CRF, and an export for a platform re-encodes them anyway.
    encoder_preset = "ultrafast"

    def __init__(self, presets: PresetLibrary | None = None, entry: ModelEntry | None = None) -> None:
        self.presets = presets or load_presets()
        self.entry = entry or instant_entry()

    def prepare(self, request: GenerationRequest,
                on_plan: Callable[[InstantPlan], object] | None = None) -> tuple[InstantPlan, Scene | KeyframedScene]:
        """Everything before the first frame: the photo, the plan and the layered scene.
        `on_plan` hears the plan as soon as it is known, before the scene is built."""
        entry = self.entry
        motion = self.presets.get(request.preset).for_family(entry.family)
        controls = motion.controls_for(request.intensity)
        # A preset with nothing for a seed to pick gives the same clip for every seed.
        seed = 0 if motion.deterministic else request.seed
        # Up to 16 MP is decoded as is (a phone's 12 MP photo is never resampled twice: the canvas
        # is made from it with one area-averaging resize); larger photos decode at reduced scale.
        check_request(entry, request)  # before the photo is decoded
        source = load_image(request.image, max_pixels=max(4 * entry.area(request.quality), 16_000_000))
        plan = plan_instant(entry, request, source.size, controls)
        if request.keyframes:  # the user's own framings make the move: one crop of the photo per frame
            plan = replace(plan, notes=(*plan.notes, KEYFRAMES_NOTE))
            if on_plan is not None:
                on_plan(plan)
            return plan, KeyframedScene(source, (plan.width, plan.height), plan.num_frames, request.keyframes,
                                        plan.loop)
        if on_plan is not None:
            on_plan(plan)
        scene = Scene(source, plan, request.crop_center, seed)
        scene, plan = without_subject(scene, plan)
        return plan, scene

    def generate(self, request: GenerationRequest, on_event: EventSink, cancel: CancelToken) -> Clip:
        return self.generate_into(request, on_event, cancel, None)

    def generate_into(self, request: GenerationRequest, on_event: EventSink, cancel: CancelToken,
                      sink: FrameSink | None) -> Clip:
        started = time.perf_counter()
        on_event(StageChanged(Stage.LOADING, "analysing the photo"))
        # As soon as the clip's size is known, while this thread builds the scene: the sink begins
        # (the scorer frames the photo on its own thread; the encoder starts with the first frame),
        # and the clip's memory (hundreds of MB, which the kernel must clear) is claimed on
        # another thread. The other core has nothing else to do before the first frame.
        # A sink may lend the memory instead (a render whose frames are not kept after writing).
        claimed: list[Future[np.ndarray]] = []
        lender: FrameLender | None = None

        def planned(plan: InstantPlan) -> None:
            nonlocal lender
            if sink is not None:
                lender = sink.begin(plan.width, plan.height, plan.fps, plan.num_frames)
            if lender is None:
                claimed.append(claiming.submit(frame_buffer, plan.num_frames, plan.height, plan.width))

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="frame-buffer") as claiming:
            plan, scene = self.prepare(request, planned)
            frames = claimed[0].result() if claimed else None
        cancel.raise_if_cancelled()

        on_event(StageChanged(Stage.RENDERING, f"{plan.num_frames} frames, {plan.width}×{plan.height}"))
        # Each preview is the frames so far, a read-only view of one buffer: the engine never
        # writes a frame twice, so nothing the view shows changes, and nothing is copied per step.
        preview_size = (PREVIEW_WIDTH, max(2, round(PREVIEW_WIDTH * plan.height / plan.width)))
        previews = np.empty((plan.num_frames, preview_size[1], preview_size[0], 3), np.uint8)
        start = last_preview = time.perf_counter()
        shown = 0  # frames in the last preview: each one extends it
        for i in range(plan.num_frames):
            cancel.raise_if_cancelled()
            frame = frames[i] if lender is None else lender.lend(i)
            scene.render(i, frame)
            if sink is not None:
                sink.frame(i, frame)
            cv2.resize(frame, preview_size, dst=previews[i], interpolation=cv2.INTER_LINEAR)
            now = time.perf_counter()
            preview = None
            if now - last_preview >= PREVIEW_INTERVAL_S or i + 1 == plan.num_frames:
                preview = Preview(previews[: i + 1], plan.fps, extends=shown)
                last_preview, shown = now, i + 1
            elapsed = now - start
            on_event(StepProgress(i + 1, plan.num_frames, elapsed, elapsed / (i + 1) * (plan.num_frames - i - 1), preview))
        info = RenderInfo(
            engine=self.name,
            model=self.entry.id,
            width=plan.width,
            height=plan.height,
            num_frames=plan.num_frames,
            fps=plan.fps,
            steps=plan.num_frames,
            guidance=None,
            seed=request.seed,
            prompt="",
            negative_prompt="",
            device="cpu",
            elapsed_s=round(time.perf_counter() - started, 3),
            notes=plan.notes,
        )
        return Clip(frames, plan.fps, request, info)
