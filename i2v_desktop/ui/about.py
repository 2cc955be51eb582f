"""Help > About: the app's name, version and purpose, every model's licence (from the registry, through
the Studio), and the third-party notices of the libraries it runs on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..core.errors import os_reason
from ..core.resources import resource_path
from ..core.studio import Studio
from .panel import heading

if TYPE_CHECKING:
    from .window import MainWindow

APP_NAME = "i2v desktop"
# pyproject.toml's description, word for word (a test holds them together).
DESCRIPTION = "Turn a still photo into a short video clip on your own machine."
LICENCE = "Free software under the Apache License 2.0."
NOTICES = "THIRD_PARTY_NOTICES.md"


class AboutDialog(QDialog):
    def __init__(self, studio: Studio, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.resize(640, 520)
        title = heading(APP_NAME)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        title.setFont(font)
        self.version = QLabel(f"Version {__version__}")
        self.version.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.description = QLabel(DESCRIPTION)
        self.description.setWordWrap(True)
        licence = QLabel(LICENCE)
        licence.setProperty("note", True)
        self.models = QTreeWidget()
        self.models.setHeaderLabels(["Model", "Licence"])
        self.models.setRootIsDecorated(False)
        self.models.setWordWrap(True)
        self.models.setAccessibleName("Models and their licences")
        # look=False: the registry's own data, without reading the disk; the dialog opens at once.
        for choice in studio.models(look=False):
            item = QTreeWidgetItem([choice.name, choice.licence])
            item.setToolTip(1, choice.licence)
            self.models.addTopLevelItem(item)
        self.models.resizeColumnToContents(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.notices_button = QPushButton("Third-party notices…")
        buttons.addButton(self.notices_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.notices_button.clicked.connect(self.show_notices)
        buttons.rejected.connect(self.reject)
        self.notices: NoticesDialog | None = None
        layout = QVBoxLayout(self)
        for widget in (title, self.version, self.description, licence, heading("Models and their licences")):
            layout.addWidget(widget)
        layout.addWidget(self.models, 1)
        layout.addWidget(buttons)

    def show_notices(self) -> None:
        if self.notices is None:
            self.notices = NoticesDialog(self)
        self.notices.open()


class NoticesDialog(QDialog):
    """The libraries the app runs on, their versions, licences and home pages (the generated file)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Third-party notices")
        self.resize(820, 600)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        path = resource_path(NOTICES)
        try:
            self.text.setMarkdown(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:  # a damaged install: say which file and why
            reason = os_reason(exc) if isinstance(exc, OSError) else str(exc)
            self.text.setPlainText(f"{path}: cannot be read ({reason}); reinstall i2v_desktop to get it back.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)


def show_about(window: MainWindow) -> AboutDialog:
    """Opens the About dialog over `window` (window-modal); it is deleted when closed."""
    dialog = AboutDialog(window.studio, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
