"""The clip player: plays frames held in memory (no multimedia backend), alone or two side by side.

Clips are (T, H, W, 3) uint8 RGB arrays, often read-only and shared with a render thread. Only the
frame on screen is wrapped in a QImage, and that QImage reads the array's memory directly.
"""

from __future__ import annotations

import math

import numpy as np
from typing import NamedTuple

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .canvas import FrameCanvas
from .panel import media_icon

# seek(i) stores the time i / fps; this keeps floor(time * fps) at i despite float rounding.
_EPS = 1e-6

ZOOM_LABELS = ("Fit", "100 %")  # what the view shows: fitted, or one image pixel per screen pixel
LabelledClip = tuple[np.ndarray, float, str]  # (frames, fps, label), as ComparePlayer.set_clips takes them
MAX_COMPARED = 4  # clips the compare view plays together


def _checked_clip(frames: np.ndarray, fps: float) -> np.ndarray:
    frames = np.asarray(frames)  # no copy for an ndarray, read-only or not
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(f"frames must be a (T, H, W, 3) uint8 array, got {frames.dtype} {frames.shape}")
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    return frames


class _ElidedLabel(QLabel):
    """A one-line label that shortens long text with … instead of widening the layout."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(self.fontMetrics().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, self.width())
        painter.drawText(self.rect(), int(self.alignment()), text)


class _Track:
    """One clip on one canvas; remembers the frame shown so an unchanged frame is not converted again."""

    def __init__(self, canvas: FrameCanvas) -> None:
        self.canvas = canvas
        self.frames: np.ndarray | None = None
        self.fps = 0.0
        self.shown = -1

    @property
    def count(self) -> int:
        return 0 if self.frames is None else int(self.frames.shape[0])

    @property
    def duration(self) -> float:
        return self.count / self.fps if self.frames is not None else 0.0

    def load(self, frames: np.ndarray, fps: float) -> None:
        self.frames, self.fps, self.shown = frames, float(fps), -1

    def unload(self, message: str) -> None:
        self.frames, self.fps, self.shown = None, 0.0, -1
        self.canvas.clear(message)

    def index_at(self, t: float) -> int:
        return min(max(math.floor(t * self.fps + _EPS), 0), self.count - 1)

    def next_change(self, t: float) -> float:
        """The time at which this track next shows another frame."""
        return (math.floor(t * self.fps + _EPS) + 1) / self.fps

    def show(self, t: float) -> None:
        if self.frames is None:
            return
        index = self.index_at(t)
        if index != self.shown:
            self.canvas.set_frame(self.frames[index])
            self.shown = index


class Key(NamedTuple):
    """A key the player answers while it has focus: what the shortcuts sheet says, what it calls."""

    name: str
    does: str
    method: str


class _PlayerBase(QWidget):
    """Clock, transport controls and keys shared by FramePlayer and ComparePlayer.

    The position is a time in seconds. The timeline runs at the fastest track's fps and lasts as long
    as the longest track; a shorter track holds its last frame until the timeline loops.
    """

    frameChanged = Signal(int)
    playingChanged = Signal(bool)
    KEYS = {
        Qt.Key.Key_Space: Key("Space", "Play or pause", "toggle"),
        Qt.Key.Key_Left: Key("←", "Previous frame", "step_back"),
        Qt.Key.Key_Right: Key("→", "Next frame", "step_forward"),
        Qt.Key.Key_Home: Key("Home", "First frame", "first_frame"),
        Qt.Key.Key_End: Key("End", "Last frame", "last_frame"),
        Qt.Key.Key_L: Key("L", "Loop on or off", "toggle_loop"),
    }

    def __init__(self, parent: QWidget | None, *, zoom_button: bool) -> None:
        super().__init__(parent)
        self._tracks: list[_Track] = []
        self._fps = 0.0  # timeline rate: one slider step or step(1) is 1 / fps seconds
        self._count = 0
        self._index = -1
        self._start = 0.0  # the position when the clock was last started (or the position, when paused)
        self._loop = True
        self._playing = False
        self._resume_after_scrub = False
        self._clock = QElapsedTimer()
        # Single shot, re-armed for the next frame boundary: each frame comes on time, and late ticks
        # drop frames instead of slowing playback, since the frame is chosen from the elapsed time.
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.controls = self._build_controls(zoom_button)

    # -- public API ------------------------------------------------------------------------------

    @property
    def is_playing(self) -> bool:
        return self._playing

    @property
    def current_index(self) -> int:
        """The timeline frame shown (-1 with no clip)."""
        return self._index

    @property
    def frame_count(self) -> int:
        return self._count

    @property
    def position(self) -> float:
        """Seconds from the start of the clip."""
        return self._position()

    @property
    def loop(self) -> bool:
        return self._loop

    def play(self) -> None:
        if self._count == 0 or self._playing:
            return
        if not self._loop and self._index >= self._count - 1:
            self._start = 0.0  # play at the end of a one-shot clip starts it again
        self._clock.start()
        self._set_playing(True)
        self._show(self._start)
        self._schedule(self._start)

    def pause(self) -> None:
        if not self._playing:
            return
        t = self._position()
        if t >= self._duration():  # past the end before the tick that would have wrapped or stopped
            t = t % self._duration() if self._loop else (self._count - 1) / self._fps
        self._start = t
        self._set_playing(False)
        self._show(t)

    def toggle(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def set_loop(self, loop: bool) -> None:
        self._loop = bool(loop)
        self._loop_button.setChecked(self._loop)

    def seek(self, index: int) -> None:
        """Show timeline frame `index` (clamped); playback, if on, goes on from there."""
        if self._count:
            self._seek_to(min(max(int(index), 0), self._count - 1) / self._fps)

    def seek_time(self, seconds: float) -> None:
        if self._count:
            self._seek_to(self._clamped_time(seconds))

    def step(self, n: int) -> None:
        """Pause, then move n frames (wrapping around when looping)."""
        if not self._count:
            return
        self.pause()
        index = self._index + n
        self.seek(index % self._count if self._loop else index)

    def step_back(self) -> None:
        self.step(-1)

    def step_forward(self) -> None:
        self.step(1)

    # -- clock -----------------------------------------------------------------------------------

    def _duration(self) -> float:
        return max(track.duration for track in self._tracks if track.frames is not None)

    def _position(self) -> float:
        return self._start + self._clock.elapsed() / 1000 if self._playing else self._start

    def _clamped_time(self, t: float) -> float:
        if t >= self._duration():
            return (self._count - 1) / self._fps
        return max(t, 0.0)

    def _seek_to(self, t: float) -> None:
        self._start = t
        if self._playing:
            self._clock.start()
            self._schedule(t)
        self._show(t)

    def _tick(self) -> None:
        if not self._playing:
            return
        t = self._position()
        if t >= self._duration():
            if not self._loop:
                self._start = (self._count - 1) / self._fps
                self._set_playing(False)
                self._show(self._start)
                return
            t %= self._duration()
            self._start = t
            self._clock.start()
        self._show(t)
        self._schedule(t)

    def _schedule(self, t: float) -> None:
        loaded = [track for track in self._tracks if track.frames is not None]
        due = min([self._duration()] + [track.next_change(t) for track in loaded])
        self._timer.start(max(1, math.ceil((due - t) * 1000)))

    def _set_playing(self, playing: bool) -> None:
        if playing == self._playing:
            return
        self._playing = playing
        if not playing:
            self._timer.stop()
        self._sync_play_button()
        self.playingChanged.emit(playing)

    def _show(self, t: float) -> None:
        for track in self._tracks:
            track.show(t)
        index = min(max(math.floor(t * self._fps + _EPS), 0), self._count - 1)
        if index != self._index:
            self._index = index
            self._sync_position()
            self.frameChanged.emit(index)

    def _load(self, keep_position: bool) -> None:
        """Rebuild the timeline after the tracks' clips changed."""
        loaded = [track for track in self._tracks if track.frames is not None]
        was = self._position()
        self._fps = max(track.fps for track in loaded)
        self._count = max(1, math.ceil(self._duration() * self._fps - _EPS))
        t = self._clamped_time(was) if keep_position else 0.0
        self._start = t
        if self._playing:
            self._clock.start()
            self._schedule(t)
        self._set_controls_enabled(True)
        self._slider.setPageStep(max(1, self._count // 10))
        self._fit_position_label()
        self._show(t)
        self._sync_position()

    def _unload(self, message: str) -> None:
        self._set_playing(False)
        for track in self._tracks:
            track.unload(message)
        self._fps, self._count, self._index, self._start = 0.0, 0, -1, 0.0
        self._set_controls_enabled(False)
        self._sync_position()

    # -- controls --------------------------------------------------------------------------------

    def _build_controls(self, zoom_button: bool) -> QWidget:
        bar = QWidget(self)
        row = QHBoxLayout(bar)
        row.setContentsMargins(4, 2, 4, 2)
        row.setSpacing(2)

        def button(tip: str, name: str, icon: QStyle.StandardPixmap | None = None,
                   text: str = "") -> QToolButton:
            b = QToolButton(bar)
            if icon is not None:
                b.setIcon(media_icon(icon))
            else:
                b.setText(text)
            b.setToolTip(tip)
            b.setAccessibleName(name)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the player, so Space always means play
            row.addWidget(b)
            return b

        self._play_button = button("Play (Space)", "Play", QStyle.StandardPixmap.SP_MediaPlay)
        self._play_button.clicked.connect(self.toggle)
        self._back_button = button("Previous frame (Left)", "Previous frame",
                                   QStyle.StandardPixmap.SP_MediaSeekBackward)
        self._back_button.clicked.connect(self.step_back)
        self._forward_button = button("Next frame (Right)", "Next frame",
                                      QStyle.StandardPixmap.SP_MediaSeekForward)
        self._forward_button.clicked.connect(self.step_forward)

        self._slider = QSlider(Qt.Orientation.Horizontal, bar)
        self._slider.setToolTip("Drag to scrub through the clip (Home / End: first / last frame)")
        self._slider.setAccessibleName("Frame")
        self._slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._slider.valueChanged.connect(self._on_slider)
        self._slider.sliderPressed.connect(self._on_scrub_start)
        self._slider.sliderReleased.connect(self._on_scrub_end)
        row.addSpacing(4)
        row.addWidget(self._slider, 1)
        row.addSpacing(6)

        self._position_label = QLabel(bar)
        self._position_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._position_label.setToolTip("Frame / frames · time")
        self._position_label.setAccessibleName("Position")
        row.addWidget(self._position_label)
        row.addSpacing(4)

        self._loop_button = button("Loop (L)", "Loop", QStyle.StandardPixmap.SP_BrowserReload)
        self._loop_button.setCheckable(True)
        self._loop_button.setChecked(self._loop)
        self._loop_button.toggled.connect(self.set_loop)

        self._zoom_button: QToolButton | None = None
        if zoom_button:
            self._zoom_button = button("", "", text="Fit")
            self._zoom_button.setCheckable(True)
            # Wide enough for either label: the row does not jump when it changes.
            widest = max(self._zoom_button.fontMetrics().horizontalAdvance(t) for t in ZOOM_LABELS)
            self._zoom_button.setMinimumWidth(widest + 16)
        self._set_controls_enabled(False)
        return bar

    def _set_controls_enabled(self, enabled: bool) -> None:
        for widget in (self._play_button, self._back_button, self._forward_button, self._slider):
            widget.setEnabled(enabled)

    def _sync_play_button(self) -> None:
        verb = "Pause" if self._playing else "Play"
        icon = QStyle.StandardPixmap.SP_MediaPause if self._playing else QStyle.StandardPixmap.SP_MediaPlay
        self._play_button.setIcon(media_icon(icon))
        self._play_button.setToolTip(f"{verb} (Space)")
        self._play_button.setAccessibleName(verb)

    def _label_text(self, index: int) -> str:
        return f"{index + 1} / {self._count} · {index / self._fps:.2f} s"

    def _fit_position_label(self) -> None:
        # Wide enough for the longest text this clip can show, so the row does not jiggle during play.
        widest = self._label_text(self._count - 1).translate(str.maketrans("0123456789", "8888888888"))
        self._position_label.setMinimumWidth(self._position_label.fontMetrics().horizontalAdvance(widest))

    def _sync_position(self) -> None:
        self._slider.blockSignals(True)  # only the user's moves should seek
        self._slider.setMaximum(max(0, self._count - 1))
        self._slider.setValue(max(0, self._index))
        self._slider.blockSignals(False)
        self._position_label.setText(self._label_text(self._index) if self._count else "")

    def _on_slider(self, value: int) -> None:
        if self._count:
            self.seek(value)

    def _on_scrub_start(self) -> None:
        self._resume_after_scrub = self._playing
        self.pause()

    def _on_scrub_end(self) -> None:
        if self._resume_after_scrub:
            self.play()
        self._resume_after_scrub = False

    def first_frame(self) -> None:
        self.seek(0)

    def last_frame(self) -> None:
        self.seek(self._count - 1)

    def toggle_loop(self) -> None:
        self.set_loop(not self._loop)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = self.KEYS.get(event.key())
        if key is None or event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            super().keyPressEvent(event)  # leave Ctrl+… and friends to the window
            return
        if not (event.key() == Qt.Key.Key_Space and event.isAutoRepeat()):
            getattr(self, key.method)()
        event.accept()


class FramePlayer(_PlayerBase):
    """Plays one clip held in memory: a picture area above a row of transport controls."""

    KEYS = {**_PlayerBase.KEYS, Qt.Key.Key_F: Key("F", "Fit or 100 %", "toggle_fit")}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, zoom_button=True)
        self.canvas = FrameCanvas(self)
        self._tracks = [_Track(self.canvas)]
        assert self._zoom_button is not None
        self._zoom_button.toggled.connect(lambda actual: self.set_fit(not actual))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.controls)
        self.clear()
        self.set_fit(True)

    @property
    def fit(self) -> bool:
        return self.canvas.fit

    @property
    def frames(self) -> np.ndarray | None:
        """The clip on show, (T, H, W, 3) uint8, or None."""
        return self._tracks[0].frames

    def set_frames(self, frames: np.ndarray, fps: float, *, keep_position: bool = False) -> None:
        """Show a new clip; with keep_position the time position carries over (clamped to the new
        length) and playback goes on, for previews replaced during a render."""
        self._tracks[0].load(_checked_clip(frames, fps), fps)
        self._load(keep_position and self._count > 0)

    def clear(self, message: str = "") -> None:
        self._unload(message)

    def set_fit(self, fit: bool) -> None:
        """Fit the frame to the view (default), or show it at 100 % for judging detail. The button
        says which the view shows now."""
        self.canvas.set_fit(fit)
        button = self._zoom_button
        assert button is not None
        button.setChecked(not fit)
        button.setText(ZOOM_LABELS[0] if fit else ZOOM_LABELS[1])
        button.setAccessibleName(f"Zoom: {button.text()}")
        button.setToolTip("Fitted to the view; click for 100 %, one image pixel per screen pixel (F)" if fit
                          else "At 100 %, one image pixel per screen pixel, drag to pan; click to fit (F)")

    def toggle_fit(self) -> None:
        self.set_fit(not self.fit)


class ComparePlayer(_PlayerBase):
    """Two to four clips on one transport, for choosing between variants or between models.

    Every cell shows the frame at the same time in seconds, so clips of different fps stay in step.
    The timeline is as long as the longest clip and loops as a whole: a shorter clip holds its last
    frame until all restart together, which keeps them visibly in sync on every loop. Two or three
    clips sit side by side, four two by two; each has its label under it and a Pick button.
    """

    picked = Signal(int)  # the index of the clip whose Pick button was pressed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, zoom_button=False)
        self._grid = QGridLayout()
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self.canvases = tuple(FrameCanvas(self) for _ in range(MAX_COMPARED))
        self.labels = tuple(_ElidedLabel(self) for _ in range(MAX_COMPARED))
        self.pick_buttons = tuple(QToolButton(self) for _ in range(MAX_COMPARED))
        self._cells = []
        for i, (canvas, label, pick) in enumerate(zip(self.canvases, self.labels, self.pick_buttons)):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            pick.setText("Pick")
            pick.setToolTip("Pick this clip: star it and play it alone")
            pick.clicked.connect(lambda _=False, i=i: self.picked.emit(i))
            cell = QWidget(self)
            side = QVBoxLayout(cell)
            side.setContentsMargins(0, 0, 0, 0)
            side.setSpacing(2)
            side.addWidget(canvas, 1)
            foot = QHBoxLayout()
            foot.addWidget(label, 1)
            foot.addWidget(pick)
            side.addLayout(foot)
            self._cells.append(cell)
        self._tracks = [_Track(canvas) for canvas in self.canvases]
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._grid, 1)
        layout.addWidget(self.controls)
        self._arrange(2)
        self.clear()

    @property
    def shown(self) -> int:
        """How many clips the grid holds now."""
        return sum(cell.isVisibleTo(self) for cell in self._cells)

    def _arrange(self, count: int) -> None:
        columns = 2 if count == 4 else count
        for i, cell in enumerate(self._cells):
            self._grid.removeWidget(cell)
            cell.setVisible(i < count)
            if i < count:
                self._grid.addWidget(cell, i // columns, i % columns)
        for c in range(MAX_COMPARED):
            self._grid.setColumnStretch(c, 1 if c < columns else 0)
            self._grid.setRowStretch(c, 1 if c < (count + columns - 1) // columns else 0)

    def set_clips(self, *clips: LabelledClip, keep_position: bool = False) -> None:
        """Show two to four clips, each given as (frames, fps, label)."""
        if not 2 <= len(clips) <= MAX_COMPARED:
            raise ValueError(f"compare 2 to {MAX_COMPARED} clips, got {len(clips)}")
        checked = [(_checked_clip(frames, fps), fps, text) for frames, fps, text in clips]
        if len(clips) != self.shown:
            self._arrange(len(clips))
        for i, (track, label) in enumerate(zip(self._tracks, self.labels)):
            if i < len(checked):
                frames, fps, text = checked[i]
                track.load(frames, fps)
                track.canvas.setAccessibleName(text or "Clip preview")
                label.setText(text)
                label.setToolTip(text)
            else:
                track.unload("")
                label.setText("")
        self._load(keep_position and self._count > 0)

    def clear(self, message: str = "") -> None:
        self._unload(message)
        for label in self.labels:
            label.setText("")
            label.setToolTip("")
