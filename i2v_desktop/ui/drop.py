"""Photos coming in by drag and drop: what a dropped path gives, what an empty batch shows, and
what covers the window while files are dragged over it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from ..core.image import SUPPORTED_EXTENSIONS

VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v")


def expand_paths(paths: list[Path]) -> tuple[list[str], list[str], list[str]]:
    """Dropped paths → (photos, clips of ours to restore, one-line refusals). Folders give their images."""
    photos, clips, refused = [], [], []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUPPORTED_EXTENSIONS and p.is_file())
            if not found:
                refused.append(f"{path}: no photos in this folder")
            photos += [str(p.resolve()) for p in found]
        elif path.suffix.lower() in VIDEO_EXTENSIONS:
            clips.append(str(path.resolve()))
        elif not path.exists():
            refused.append(f"{path}: no such file")
        elif path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            kinds = "JPEG, PNG, WebP, TIFF, BMP, GIF"
            refused.append(f"{path.name}: not a supported photo ({kinds}), or an i2v clip (MP4)")
        else:
            photos.append(str(path.resolve()))
    return photos, clips, refused


class DropHint(QWidget):
    """What an empty batch shows: where photos come from."""

    TEXT = "Drop photos or folders here\n\nor paste them (Ctrl+V), or use Add photos… (Ctrl+O)"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Drop photos here")
        self.setToolTip("JPEG, PNG, WebP, TIFF, BMP or GIF; drop an i2v clip (MP4) to get its settings back")

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = self.palette().color(self.palette().ColorRole.PlaceholderText)
        pen = QPen(colour, 2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        box = self.rect().adjusted(24, 24, -24, -24)
        painter.drawRoundedRect(box, 16, 16)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        painter.setFont(font)
        # Inside the dashed line, wrapped: on a small screen the view is narrower than the words.
        painter.drawText(box.adjusted(16, 16, -16, -16), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                         self.TEXT)


class DropOverlay(QWidget):
    """Covers the window while files are dragged over it, so the user sees the drop will land."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.text = ""
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()

    def show_over(self, widget: QWidget, text: str) -> None:
        self.text = text
        self.setGeometry(widget.geometry())
        self.raise_()
        self.show()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = self.palette().color(self.palette().ColorRole.Highlight)
        fill = QColor(accent)
        fill.setAlpha(40)
        painter.setBrush(fill)
        painter.setPen(QPen(accent, 3, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(self.rect().adjusted(6, 6, -6, -6), 14, 14)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        painter.setFont(font)
        label = painter.fontMetrics().boundingRect(self.text).adjusted(-24, -14, 24, 14)
        label.moveCenter(self.rect().center())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(accent)
        painter.drawRoundedRect(label, label.height() / 2, label.height() / 2)
        painter.setPen(self.palette().color(self.palette().ColorRole.HighlightedText))
        painter.drawText(label, Qt.AlignmentFlag.AlignCenter, self.text)
