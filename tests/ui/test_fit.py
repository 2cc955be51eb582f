"""The window on small screens and what it shows: it opens within the screen, keeps Generate, Export
and the status bar on show, folds its side panels, shows every motion, says what the model fixes,
lists its real shortcuts, and steps frames with the arrows after a click on a clip."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QAction, QPalette, QShortcut
from PySide6.QtWidgets import QApplication, QListWidget, QMessageBox, QTableWidget, QToolButton, QWidget

from i2v_desktop.ui.shortcuts import ShortcutsSheet, action_name, keys_text
from i2v_desktop.ui.theme import CHOSEN, apply_palette, contrast, note_colour
from i2v_desktop.ui.window import FRAME_GUESS, MainWindow, fitted

from test_window import QUICK, add_ready, generate

SCREENS = [QRect(0, 0, 1280, 720), QRect(0, 0, 1024, 640), QRect(1920, 0, 1366, 768)]


def on_show(widget: QWidget, window: MainWindow) -> bool:
    """Whether all of `widget` is on screen: shown, inside the window, clipped by no parent."""
    inside = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    return widget.isVisible() and window.rect().contains(inside) and \
        widget.visibleRegion().boundingRect() == widget.rect()


def activate(qtbot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


def test_a_window_and_its_frame_are_fitted_into_the_available_area():
    frame = FRAME_GUESS
    assert fitted(QRect(0, 0, 1280, 800), QRect(0, 0, 1280, 720), frame) == QRect(0, 32, 1280, 688)
    # Saved on a larger screen to its right: back on this one, shrunk to fit.
    assert fitted(QRect(2000, 300, 1800, 1000), QRect(0, 0, 1024, 640), frame) == QRect(0, 32, 1024, 608)
    assert fitted(QRect(100, 100, 800, 500), QRect(0, 0, 1280, 720), frame) == QRect(100, 100, 800, 500)


@pytest.mark.parametrize("screen", SCREENS, ids=lambda r: f"{r.width()}x{r.height()}")
def test_generate_export_and_the_status_bar_are_on_show_on_a_small_screen(qtbot, make_window, screen):
    window = make_window()
    qtbot.wait(10)  # the fit that follows the window's first show
    window.fit_to(screen)
    qtbot.waitUntil(lambda: screen.contains(window.frameGeometry()))  # its frame too
    window.centralWidget().layout().activate()
    for widget in (window.generate_button, window.viewer.export_button, window.statusBar(), window.machine):
        assert on_show(widget, window), widget.accessibleName() or type(widget).__name__
    for panel in (window.photos_panel, window.viewer, window.settings_panel):
        assert on_show(panel, window) and panel.width() >= panel.minimumWidth()
    # Every setting can be scrolled to (the column scrolls; Generate stays below it).
    scroll = window.settings_panel.scroll
    for widget in (window.presets, window.prompt, window.controls.model, window.controls.advanced):
        scroll.ensureWidgetVisible(widget)
        assert not widget.visibleRegion().isEmpty()
    # Every motion card on show at once, the chosen one among them, at launch (scrolled to the top).
    scroll.verticalScrollBar().setValue(0)
    cards = window.presets.findChild(QListWidget)
    for i in range(cards.count()):
        rect = cards.visualItemRect(cards.item(i))
        assert cards.viewport().visibleRegion().contains(rect), cards.item(i).text()
    current = cards.visualItemRect(cards.currentItem())
    assert cards.viewport().visibleRegion().contains(current)


def test_a_saved_geometry_off_this_screen_is_brought_back_onto_it(qtbot, make_window):
    window = make_window()
    window.setGeometry(QRect(2400, 900, 1800, 1100))  # on a larger screen, since unplugged
    window.save_settings()
    window.close()
    again = make_window()
    available = again.screen().availableGeometry()
    qtbot.waitUntil(lambda: available.contains(again.geometry().topLeft()))
    assert again.height() <= available.height() - FRAME_GUESS.top()


def test_side_panels_fold_from_the_view_menu_and_stay_folded(qtbot, make_window):
    window = make_window()
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F9)
    assert not window.photos_panel.isVisible() and not window.photos_toggle.isChecked()
    window.settings_toggle.trigger()
    assert not window.settings_panel.isVisible()
    qtbot.waitUntil(lambda: window.viewer.width() > window.width() - 40)  # the viewer takes the room
    window.close()
    again = make_window()
    assert not again.photos_panel.isVisible() and not again.settings_panel.isVisible()
    again.photos_toggle.trigger()
    again.settings_toggle.trigger()
    assert again.photos_panel.isVisible() and again.settings_panel.isVisible()


def test_a_frame_rate_the_model_fixes_is_shown_disabled_at_its_value(make_window):
    window = make_window()
    fps = window.controls.fps
    window.state.choose(model="instant", fps=30.0)
    assert fps.isEnabled() and fps.value() == 30
    window.state.choose(model="wan2.2-ti2v-5b")
    assert not fps.isEnabled() and fps.value() == 24
    assert fps.minimum() < 24 < fps.maximum()  # the handle sits at 24 on the scale, not at its end
    assert "always renders at 24 frames per second" in fps.toolTip()
    assert window.controls.fps_label.text() == "24 fps (fixed by this model)"


def test_the_model_box_names_the_model_and_the_line_below_says_what_keeps_it_from_rendering(make_window):
    window = make_window()
    svd = replace(window.studio.model("svd-xt"), installed=False, fits=False)
    window.settings_panel._offer([window.studio.model("instant"), svd])
    window.state.choose(model="svd-xt")
    box = window.controls.model
    assert box.currentData(Qt.ItemDataRole.UserRole + 1) == "Stable Video Diffusion XT"
    assert "(not downloaded" in box.currentText()  # the list still says it
    assert window.controls.model_note.text().startswith("Not downloaded")
    assert "too big for this machine" in window.controls.model_note.text()
    # The closed box has room for the name at the panel's narrowest.
    window.settings_panel.setFixedWidth(window.settings_panel.minimumWidth())
    box.parentWidget().layout().activate()
    assert box.fontMetrics().horizontalAdvance("Stable Video Diffusion XT") < box.width() - 30


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_notes_and_the_chosen_aspect_stand_out_in_light_and_dark(qapp, make_window, dark):
    palette, sheet = qapp.palette(), qapp.styleSheet()
    try:
        apply_palette(qapp, dark)
        window = make_window()
        window.state.choose(model="instant", aspect="9:16")
        note = window.controls.model_note
        assert contrast(note_colour(qapp.palette()), qapp.palette().color(QPalette.ColorRole.Window)) >= 4.5
        assert note.isEnabled()
        shown = note.palette().color(note.foregroundRole())
        assert shown.name() == note_colour(qapp.palette()).name()
        chosen = next(b for b in window.controls.aspects.buttons() if b.isChecked())
        other = next(b for b in window.controls.aspects.buttons() if not b.isChecked())
        fill = chosen.grab().toImage().pixelColor(3, chosen.height() // 2)
        rest = other.grab().toImage().pixelColor(3, other.height() // 2)
        assert contrast(fill, rest) >= 3.0, (fill.name(), rest.name())
        colour, text = CHOSEN[dark]
        assert fill.name() == colour.name() and contrast(colour, text) >= 4.5
    finally:
        qapp.setPalette(palette)
        qapp.setStyleSheet(sheet)


def test_the_zoom_toggle_says_which_view_it_shows(make_window):
    window = make_window()
    zoom = next(b for b in window.player.findChildren(QToolButton) if b.accessibleName().startswith("Zoom"))
    assert zoom.text() == "Fit" and not zoom.isChecked()
    zoom.click()
    assert zoom.text() == "100 %" and zoom.isChecked() and not window.player.fit
    assert zoom.accessibleName() == "Zoom: 100 %" and "click to fit" in zoom.toolTip()
    zoom.click()
    assert zoom.text() == "Fit" and window.player.fit


def test_the_shortcuts_sheet_lists_every_shortcut_the_window_has(qtbot, make_window):
    window = make_window()
    assert window.findChildren(QShortcut) == []  # every key is an action: named, listed
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    sheet = window.findChild(ShortcutsSheet)
    assert sheet is not None and sheet.isVisible() and window.findChild(QMessageBox) is None
    table = sheet.findChild(QTableWidget)
    assert table.columnCount() == 2
    rows = sheet.rows()
    assert ("File", "") in rows and ("Render", "") in rows and ("Clips", "") in rows  # grouped
    actions = [a for a in window.findChildren(QAction) if a.shortcuts() and a.isVisible()]
    assert len(actions) > 12
    for action in actions:
        assert (keys_text(action), action_name(action)) in rows, action.text()
    # No key serves two window-wide actions: Qt would run neither.
    window_wide = [key.toString() for a in actions if a.shortcutContext() == Qt.ShortcutContext.WindowShortcut
                   for key in a.shortcuts()]
    assert sorted(window_wide) == sorted(set(window_wide))
    for key in ("F", "Home", "End", "L"):  # the player's own keys
        assert any(keys == key for keys, _ in rows), key
    sheet.close()


def test_the_status_bar_says_what_the_free_gigabytes_are(qtbot, make_window):
    window = make_window(probe=True)
    qtbot.waitUntil(lambda: window.machine.text() != "Checking this machine…", timeout=30_000)
    if "GB" in window.machine.text():
        assert "GB RAM free" in window.machine.text() or "GB GPU memory free" in window.machine.text()


def test_arrows_step_frames_after_a_click_on_a_clip(qtbot, make_window, samples):
    """Break 7: a click on a clip puts the focus in its strip; the arrows still step the player."""
    window = make_window()
    add_ready(qtbot, window, [samples / "coffee.jpg"])
    window.state.choose(**{**QUICK, "variants": 1})
    generate(qtbot, window)
    (entry,) = window.studio.clips(str(samples / "coffee.jpg"))
    activate(qtbot, window)
    window.variants.select(entry.id)  # what a click does: select the clip, play it, focus the strip
    window.variants.setFocus()
    qtbot.waitUntil(lambda: window.player.frame_count > 2)
    focus = QApplication.focusWidget()
    assert focus is not None and window.strips.isAncestorOf(focus)
    window.player.pause()
    window.player.seek(1)
    qtbot.keyClick(focus, Qt.Key.Key_Right)
    assert window.player.current_index == 2 and not window.player.is_playing
    qtbot.keyClick(focus, Qt.Key.Key_Left)
    qtbot.keyClick(focus, Qt.Key.Key_Left)
    assert window.player.current_index == 0
    # The strip's own keys still work there: S picks the clip.
    qtbot.keyClick(focus, Qt.Key.Key_S)
    assert window.studio.clip(entry.id).starred
