"""Dragging a clip out of the window as a file: into a video editor, a browser's upload, a file manager."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, Qt, QUrl
from PySide6.QtGui import QDrag, QImage, QMouseEvent, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

DRAG_PICTURE = 160  # px, the long side of the picture under the cursor


def clip_mime(paths: Sequence[Path]) -> QMimeData:
    """File URLs, which every editor, browser and file manager takes."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    return data


def start_clip_drag(source: QWidget, paths: Sequence[Path], picture: QImage | None = None) -> Qt.DropAction:
    """Drag `paths` out as a copy; returns when it is dropped or given up (Qt runs the drag's own loop)."""
    drag = QDrag(source)
    drag.setMimeData(clip_mime(paths))
    if picture is not None and not picture.isNull():
        drag.setPixmap(QPixmap.fromImage(picture.scaled(DRAG_PICTURE, DRAG_PICTURE, Qt.AspectRatioMode.KeepAspectRatio,
                                                        Qt.TransformationMode.SmoothTransformation)))
    return drag.exec(Qt.DropAction.CopyAction)


class DragOut(QObject):
    """Lets a widget's picture be dragged out as the clip it shows. `clip()` says which file it is
    (None while there is none, e.g. a render's preview) and `allowed()` whether a press may start
    a drag (not while the press pans the picture)."""

    def __init__(self, widget: QWidget, clip: Callable[[], Path | None], allowed: Callable[[], bool],
                 picture: Callable[[], QImage | None] = lambda: None) -> None:
        super().__init__(widget)
        self.widget, self.clip, self.allowed, self.picture = widget, clip, allowed, picture
        self._from: QPoint | None = None
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
            ok = event.button() == Qt.MouseButton.LeftButton and self.clip() is not None and self.allowed()
            self._from = event.position().toPoint() if ok else None
        elif kind == QEvent.Type.MouseMove and isinstance(event, QMouseEvent) and self._from is not None:
            if (event.position().toPoint() - self._from).manhattanLength() >= QApplication.startDragDistance():
                self._from = None
                clip = self.clip()
                if clip is not None:
                    start_clip_drag(self.widget, [clip], self.picture())
                return True
        elif kind == QEvent.Type.MouseButtonRelease:
            self._from = None
        return False
