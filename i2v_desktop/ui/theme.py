"""Look: Fusion with a palette that follows the system's light or dark setting, live."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = QColor("#3d8bfd")


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#232428", QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1b1c1f", QPalette.ColorRole.AlternateBase: "#2a2b30",
        QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#2e3035",
        QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.ToolTipBase: "#2e3035",
        QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.PlaceholderText: "#8a8c93",
        QPalette.ColorRole.Mid: "#3a3c42", QPalette.ColorRole.Midlight: "#44464d",
        QPalette.ColorRole.Dark: "#151518", QPalette.ColorRole.Light: "#4a4c53",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.Link: "#6ea8fe",
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorRole.Highlight, ACCENT)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b6d73"))
    return palette


def light_palette() -> QPalette:
    palette = QApplication.style().standardPalette()
    palette.setColor(QPalette.ColorRole.Highlight, ACCENT)
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    return palette


def is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_palette(app: QApplication, dark: bool) -> None:
    app.setPalette(dark_palette() if dark else light_palette())
    # Widgets polished under a style sheet keep their old palette until the sheet is set again.
    app.setStyleSheet(STYLE)


def apply_theme(app: QApplication) -> None:
    """Fusion looks the same everywhere; the palette follows the system setting, now and later."""
    app.setStyle("Fusion")
    apply_palette(app, is_dark())
    QGuiApplication.styleHints().colorSchemeChanged.connect(lambda *_: apply_palette(app, is_dark()))


# The one call to action stands out; everything else keeps the platform's quiet look.
STYLE = f"""
QPushButton#generate {{ background: {ACCENT.name()}; color: white; font-weight: 600; border: none;
                        border-radius: 6px; padding: 8px 16px; }}
QPushButton#generate:hover {{ background: {ACCENT.lighter(112).name()}; }}
QPushButton#generate:pressed {{ background: {ACCENT.darker(115).name()}; }}
QPushButton#generate:disabled {{ background: #8a8c93; }}
"""
