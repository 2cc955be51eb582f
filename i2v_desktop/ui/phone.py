"""The phone view: the clip as it will sit in a Reels, TikTok or Shorts feed.

It plays the player's frames (the player keeps the clock; this view repaints on its frameChanged),
framed the way that platform's export frames them (the Studio asks export/social.py, so the
preview and the file agree), inside a 9:16 phone screen, with the platform's UI as an overlay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Slot
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QSizePolicy, QStyle, QToolButton, QVBoxLayout, QWidget

from ..core.studio import PostFraming, Studio
from .background import Background
from .panel import media_icon
from .canvas import BACKGROUND
from .player import FramePlayer


@dataclass(frozen=True)
class Platform:
    """A vertical platform: the export preset it previews, and the share of the 9:16 frame its app's UI
    covers on each side (caption and buttons below, the action rail at the right, the top bar)."""

    preset: str
    name: str
    top: float
    bottom: float
    left: float
    right: float


# The figures are what the platforms publish for ads, which sit under the same UI as posts:
# - Reels: Meta Business Help Center, "safe zones for Reels ads": keep 14 % of the top, 35 % of the
#   bottom and 6 % of each side of a 1080×1920 frame free of text and logos.
# - TikTok: TikTok Business Help Center, "TikTok Auction In-Feed Ads", publishes its safe zone as
#   template files only; measured on them (1080×1920): 150 px top, 440 px bottom, 150 px right rail.
# - Shorts: YouTube publishes no figures (Google Ads Help, "YouTube Shorts ads": a right-hand panel
#   of like, dislike, comment and share, two lines of description below); measured on the app:
#   the bottom quarter (480 px of 1920) and a right rail of about 10 % of the width.
PLATFORMS = (
    Platform("reels", "Reels", top=0.14, bottom=0.35, left=0.06, right=0.06),
    Platform("tiktok", "TikTok", top=150 / 1920, bottom=440 / 1920, left=0.0, right=150 / 1080),
    Platform("shorts", "Shorts", top=0.0, bottom=0.25, left=0.0, right=0.10),
)
SHADE = QColor(0, 0, 0, 120)  # over what the app's UI covers
BACKDROP_SHADE = 0.55  # the export darkens its blurred backdrop as much (export/social.py)


class PhoneScreen(QWidget):
    """A phone drawn around a 9:16 screen that shows one frame as the export frames it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.framing: PostFraming | None = None
        self.platform = PLATFORMS[0]
        self.safe_zones = True
        self.message = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 200)
        self.setAccessibleName("Phone preview")

    def sizeHint(self) -> QSize:
        return QSize(300, 520)

    def screen_rect(self) -> QRectF:
        """Where the 9:16 screen lies, as large as the widget lets it with room for the phone's body."""
        margin = 10.0
        height = max(10.0, self.height() - 2 * margin)
        width = height * 9 / 16
        if width > self.width() - 2 * margin:
            width = max(10.0, self.width() - 2 * margin)
            height = width * 16 / 9
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        screen = self.screen_rect()
        bezel = max(4.0, screen.width() * 0.035)
        body = QPainterPath()
        body.addRoundedRect(screen.adjusted(-bezel, -bezel, bezel, bezel), bezel * 4, bezel * 4)
        painter.fillPath(body, QColor(0x16, 0x16, 0x18))
        painter.setPen(QPen(QColor(0x5A, 0x5A, 0x60), 1.5))
        painter.drawPath(body)
        glass = QPainterPath()
        glass.addRoundedRect(screen, bezel * 3, bezel * 3)
        painter.setClipPath(glass)
        painter.fillRect(screen, BACKGROUND)
        if self.image is None or self.framing is None:
            painter.setPen(QColor(0xC8, 0xC8, 0xC8))
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(screen.adjusted(12, 12, -12, -12), flags, self.message)
            return
        self._paint_frame(painter, screen)
        if self.safe_zones:
            self._paint_zones(painter, screen)

    def _paint_frame(self, painter: QPainter, screen: QRectF) -> None:
        assert self.image is not None and self.framing is not None
        out_w, out_h = self.framing.size
        scale = screen.width() / out_w
        if self.framing.fit is None:  # cropped around the subject to the platform's shape
            x, y, w, h = self.framing.crop
            painter.drawImage(screen, self.image, QRectF(x, y, w, h))
            return
        # The whole clip over a blurred, darkened copy of itself: blurred here by drawing a tiny copy
        # large (the export blurs with ffmpeg; this is a preview of the look, not of the pixels).
        image = self.image
        cover = max(out_w / image.width(), out_h / image.height())
        tiny = image.scaled(max(2, image.width() // 24), max(2, image.height() // 24),
                            Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
        cover_w, cover_h = image.width() * cover * scale, image.height() * cover * scale
        painter.drawImage(QRectF(screen.center().x() - cover_w / 2, screen.center().y() - cover_h / 2,
                                 cover_w, cover_h), tiny)
        painter.fillRect(screen, QColor(0, 0, 0, round(255 * (1 - BACKDROP_SHADE))))
        fit_w, fit_h = self.framing.fit[0] * scale, self.framing.fit[1] * scale
        painter.drawImage(QRectF(screen.center().x() - fit_w / 2, screen.center().y() - fit_h / 2, fit_w, fit_h),
                          image)

    def _paint_zones(self, painter: QPainter, screen: QRectF) -> None:
        """Shade what the platform's UI covers, outline what stays clear, and sketch the UI itself."""
        p = self.platform
        w, h = screen.width(), screen.height()
        top, bottom = screen.top() + p.top * h, screen.bottom() - p.bottom * h
        left, right = screen.left() + p.left * w, screen.right() - p.right * w
        painter.fillRect(QRectF(screen.left(), screen.top(), w, top - screen.top()), SHADE)
        painter.fillRect(QRectF(screen.left(), bottom, w, screen.bottom() - bottom), SHADE)
        painter.fillRect(QRectF(screen.left(), top, left - screen.left(), bottom - top), SHADE)
        painter.fillRect(QRectF(right, top, screen.right() - right, bottom - top), SHADE)
        pen = QPen(QColor(255, 255, 255, 200), 1.0, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRect(QRectF(left, top, right - left, bottom - top))

        ui = QColor(255, 255, 255, 170)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(ui)
        dot = max(4.0, w * 0.075)  # the action rail: like, comment, share, more
        rail_x = screen.right() - max(p.right * w, dot * 1.4) / 2 - dot / 2
        for i in range(4):
            painter.drawEllipse(QRectF(rail_x, screen.bottom() - h * 0.16 - i * dot * 1.7 - dot, dot, dot))
        bar = max(2.0, h * 0.012)  # the caption: name and two lines of text
        for i, share in enumerate((0.35, 0.6, 0.45)):
            y = screen.bottom() - h * 0.05 - (3 - i) * bar * 2.2
            painter.drawRoundedRect(QRectF(screen.left() + w * 0.05, y, w * share, bar), bar / 2, bar / 2)
        if p.top:  # the top bar: tabs or the search row
            painter.drawRoundedRect(QRectF(screen.center().x() - w * 0.2, screen.top() + h * 0.035, w * 0.4, bar),
                                    bar / 2, bar / 2)
        painter.setBrush(Qt.BrushStyle.NoBrush)


class PhoneView(QWidget):
    """The Phone tab: a platform picker, the safe-zone switch and the phone, playing the player's frames."""

    def __init__(self, studio: Studio, background: Background, player: FramePlayer,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio, self.background, self.player = studio, background, player
        self._framed: tuple[int, str, str] | None = None  # what self.screen.framing was made for
        self._asking = False
        self.screen = PhoneScreen(self)
        self.screen.message = "Select a clip to see it as it will be posted"
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        # The player's transport is on its own tab: play and pause from here too.
        self.play_button = QToolButton()
        self.play_button.setAutoRaise(True)
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.play_button.clicked.connect(player.toggle)
        player.playingChanged.connect(self._sync_play_button)
        self._sync_play_button(player.is_playing)
        bar.addWidget(self.play_button)
        self.platforms = QButtonGroup(self)
        for index, platform in enumerate(PLATFORMS):
            button = QToolButton()
            button.setText(platform.name)
            button.setCheckable(True)
            button.setChecked(index == 0)
            button.setToolTip(f"As a {platform.name} post: framed like the {platform.name} export")
            self.platforms.addButton(button, index)
            bar.addWidget(button)
        bar.addStretch(1)
        self.blur_button = QToolButton()
        self.blur_button.setText("Blur fill")
        self.blur_button.setCheckable(True)
        self.blur_button.setToolTip("Show the whole clip over a blurred copy (the export's \"blur\" fill) "
                                    "instead of cropping it around its subject")
        self.zones_button = QToolButton()
        self.zones_button.setText("Safe zones")
        self.zones_button.setCheckable(True)
        self.zones_button.setChecked(True)
        self.zones_button.setToolTip("Shade what the app's caption, buttons and top bar cover (Z)")
        bar.addWidget(self.blur_button)
        bar.addWidget(self.zones_button)
        # Which platform is on, plain in light and dark themes alike (the style's own checked look is faint).
        self.setStyleSheet("QToolButton:checked { background-color: palette(highlight);"
                           " color: palette(highlighted-text); border: 1px solid palette(highlight);"
                           " border-radius: 3px; padding: 2px 6px; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.screen, 1)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.platforms.idToggled.connect(lambda index, on: on and self._refresh())
        self.blur_button.toggled.connect(lambda _: self._refresh())
        self.zones_button.toggled.connect(self._on_zones)
        player.frameChanged.connect(self._on_frame)

    @property
    def platform(self) -> Platform:
        return PLATFORMS[max(0, self.platforms.checkedId())]

    def set_platform(self, preset: str) -> None:
        index = next(i for i, platform in enumerate(PLATFORMS) if platform.preset == preset)
        self.platforms.button(index).setChecked(True)

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        self._refresh()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """The player's keys work here too: it is the player's clip that plays."""
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.player.step(-1 if key == Qt.Key.Key_Left else 1)
        elif key == Qt.Key.Key_Z:
            self.zones_button.toggle()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    @Slot(bool)
    def _sync_play_button(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(media_icon(icon))
        self.play_button.setToolTip(f"{'Pause' if playing else 'Play'} (Space)")
        self.play_button.setAccessibleName("Pause" if playing else "Play")

    def _on_zones(self, on: bool) -> None:
        self.screen.safe_zones = on
        self.screen.update()

    @Slot(int)
    def _on_frame(self, _: int) -> None:
        if self.isVisible():
            self._refresh()

    def _refresh(self) -> None:
        frames = self.player.frames
        screen = self.screen
        screen.platform = self.platform
        screen.image = self.player.canvas.image if frames is not None else None
        if frames is None:
            screen.framing, self._framed = None, None
            screen.message = self.player.canvas.message or "Select a clip to see it as it will be posted"
        else:
            wanted = (id(frames), self.platform.preset, "blur" if self.blur_button.isChecked() else "frame")
            if wanted != self._framed:
                if self._framed is not None and self._framed[1:] != wanted[1:]:
                    screen.framing = None  # another platform or fill: never the last one's crop meanwhile
                if screen.framing is not None and screen.image is not None:
                    x, y, w, h = screen.framing.crop
                    if x + w > screen.image.width() or y + h > screen.image.height():
                        screen.framing = None  # a clip of another size: the old crop does not apply
                self._ask_framing(frames, wanted)
        screen.update()

    def _ask_framing(self, frames: np.ndarray, wanted: tuple[int, str, str]) -> None:
        """Ask, off the GUI thread, how the export frames this clip (it may look for the subject)."""
        if self._asking:
            return  # the answer comes back to _refresh, which asks again if the clip changed meanwhile
        self._asking = True
        first, (_, preset, fill) = frames[0], wanted
        if self.screen.framing is None:
            self.screen.message = "Framing…"

        def framed(framing: PostFraming) -> None:
            self._asking = False
            self.screen.framing, self._framed = framing, wanted
            self._refresh()

        def failed(line: str) -> None:
            self._asking = False
            self.screen.framing, self._framed, self.screen.message = None, wanted, line
            self.screen.update()

        self.background.submit(lambda: self.studio.post_framing(preset, first, fill), framed, failed,
                               name="Phone framing")
