"""Look: Fusion with a palette that follows the system's light or dark setting, live."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = QColor("#3d8bfd")
# A chosen button's fill and text: 4.5:1 or more between them, 3:1 or more against the other buttons.
CHOSEN = {False: (ACCENT.darker(125), QColor("white")), True: (ACCENT.lighter(110), QColor("#101114"))}


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
    palette = dark_palette() if dark else light_palette()
    app.setPalette(palette)
    # Widgets polished under a style sheet keep their old palette until the sheet is set again.
    app.setStyleSheet(style(palette))


def mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * t, a.greenF() + (b.greenF() - a.greenF()) * t,
                           a.blueF() + (b.blueF() - a.blueF()) * t)


def contrast(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21; body text wants 4.5 or more)."""
    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def note_colour(palette: QPalette) -> QColor:
    """Secondary text (a licence under the model picker): quieter than the text, still above 4.5:1."""
    return mix(palette.color(QPalette.ColorRole.WindowText), palette.color(QPalette.ColorRole.Window), 0.35)


def apply_theme(app: QApplication) -> None:
    """Fusion looks the same everywhere; the palette follows the system setting, now and later."""
    app.setStyle("Fusion")
    apply_palette(app, is_dark())
    QGuiApplication.styleHints().colorSchemeChanged.connect(lambda *_: apply_palette(app, is_dark()))


def style(palette: QPalette) -> str:
    """The one call to action stands out; the chosen aspect is filled with the accent (the
    platform's checked tool button is barely visible in light and not at all in dark); secondary
    notes are quieter than text; everything else keeps the platform's quiet look."""
    button, text = palette.color(QPalette.ColorRole.Button), palette.color(QPalette.ColorRole.ButtonText)
    border = mix(button, text, 0.35).name()
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText).name()
    chosen, chosen_text = CHOSEN[button.lightness() < 128]
    return f"""
QPushButton#generate {{ background: {ACCENT.name()}; color: white; font-weight: 600; border: none;
                        border-radius: 6px; padding: 8px 16px; }}
QPushButton#generate:hover {{ background: {ACCENT.lighter(112).name()}; }}
QPushButton#generate:pressed {{ background: {ACCENT.darker(115).name()}; }}
QPushButton#generate:disabled {{ background: #8a8c93; }}
QToolButton#aspect {{ background: {button.name()}; color: {text.name()}; border: 1px solid {border};
                      border-radius: 4px; padding: 3px 7px; }}
QToolButton#aspect:hover {{ background: {mix(button, ACCENT, 0.15).name()}; }}
QToolButton#aspect:checked {{ background: {chosen.name()}; color: {chosen_text.name()};
                              border-color: {chosen.darker(130).name()}; font-weight: 600; }}
QToolButton#aspect:disabled {{ color: {disabled}; }}
QLabel[note="true"] {{ color: {note_colour(palette).name()}; }}
"""
