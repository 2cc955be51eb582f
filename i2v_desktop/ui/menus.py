"""The main window's menus and the keys outside them: each item calls what the window or one of
its panels already offers; the shortcuts sheet lists them from here (shortcuts.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from .about import show_about
from .comparing import Comparing

if TYPE_CHECKING:
    from .window import MainWindow


def build_menus(window: MainWindow) -> None:
    """File, Edit, Render, View and Help, and the window's keys; the actions become the window's
    attributes (`generate_action`, `models_action`, …) for scripts and tests."""
    photos, viewer = window.photos_panel, window.viewer

    def action(menu: Any, text: str, slot: Any, shortcut: Any = None) -> Any:
        item = menu.addAction(text)
        item.triggered.connect(slot)
        if shortcut is not None:
            item.setShortcut(QKeySequence(shortcut))
        return item

    file_menu = window.menuBar().addMenu("&File")
    action(file_menu, "&Add photos…", photos.open_photos, QKeySequence.StandardKey.Open)
    action(file_menu, "&Paste photos", photos.paste, QKeySequence.StandardKey.Paste)
    action(file_menu, "&Export picked clips…", window.export_clips, "Ctrl+E")
    file_menu.addSeparator()
    # Ctrl+Q itself (Cmd+Q on macOS): the platform's standard Quit key is none on Windows.
    action(file_menu, "&Quit", window.close, "Ctrl+Q")
    edit_menu = window.menuBar().addMenu("&Edit")
    window.undo_action = viewer.undo.stack.createUndoAction(window, "&Undo")
    window.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
    window.redo_action = viewer.undo.stack.createRedoAction(window, "&Redo")
    redo_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
    if QKeySequence("Ctrl+Y") not in redo_keys:  # what Windows users press, offered everywhere
        redo_keys.append(QKeySequence("Ctrl+Y"))
    window.redo_action.setShortcuts(redo_keys)
    edit_menu.addActions([window.undo_action, window.redo_action])
    render_menu = window.menuBar().addMenu("&Render")
    window.generate_action = action(render_menu, "&Generate selected photos", photos.generate, "Ctrl+Return")
    window.generate_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
    window.generate_all_action = action(render_menu, "Generate &all photos", photos.generate_all)
    window.generate_all_action.setShortcuts([QKeySequence("Ctrl+Shift+Return"), QKeySequence("Ctrl+Shift+Enter")])
    # A folder or a manifest rendered into a folder, as `i2v batch` does.
    window.batch_action = action(render_menu, "&Batch…", window.open_batch)
    window.settings_panel.generate_all_button.clicked.connect(photos.generate_all)
    # The same photo through 2-4 models, presets or tiers, then side by side (the button beside Generate too).
    window.comparing = Comparing(window)
    window.compare_action = action(render_menu, "Co&mpare models, presets or tiers…", window.comparing.open,
                                   "Ctrl+Shift+M")
    window.settings_panel.compareRequested.connect(window.comparing.open)
    window.cancel_action = action(render_menu, "&Cancel render", window.cancel_key, "Esc")
    window.stop_action = action(render_menu, "&Stop the queue (hold waiting jobs)", window.stop_queue, "Shift+Esc")
    action(render_menu, "Clear &queue", photos.queue_panel.clear)
    action(render_menu, "&Finalize selected clip", viewer.finalize)
    render_menu.addSeparator()
    window.models_action = action(render_menu, "&Models…", window.models.open_models)
    view_menu = window.menuBar().addMenu("&View")
    action(view_menu, "&Framing", viewer.show_framing_view, "Ctrl+1")
    action(view_menu, "&Preview", viewer.show_preview, "Ctrl+2")
    action(view_menu, "Ph&one", viewer.show_phone, "Ctrl+3")
    window.wipe_action = action(view_menu, "&Before / after", viewer.show_wipe, "Ctrl+B")
    window.wipe_action.setCheckable(True)
    action(view_menu, "&History", viewer.show_history, "Ctrl+H")
    view_menu.addSeparator()
    toggle = _panel_toggle
    window.photos_toggle = toggle(view_menu, "Photos and &queue panel", window.photos_panel, "F9")
    window.settings_toggle = toggle(view_menu, "Clip &settings panel", window.settings_panel, "Shift+F9")
    help_menu = window.menuBar().addMenu("&Help")
    action(help_menu, "&Keyboard shortcuts", window.show_shortcuts, QKeySequence.StandardKey.HelpContents)
    window.first_steps_action = action(help_menu, "Show the &first steps", window.first_steps.show)
    window.machine_action = action(help_menu, "This &machine", window.models.open_machine)
    window.about_action = action(help_menu, "&About i2v desktop", lambda: show_about(window))
    window.about_action.setMenuRole(QAction.MenuRole.AboutRole)  # macOS moves it to the app menu

    # Keys outside the menus, each in a group of the shortcuts sheet.
    def key(widget: QWidget, text: str, shortcut: Any, slot: Any, group: str) -> QAction:
        item = QAction(text, widget)
        item.setShortcut(QKeySequence(shortcut))
        # Window-wide for the window's own keys; else live while focus is in `widget`.
        item.setShortcutContext(Qt.ShortcutContext.WindowShortcut if widget is window
                                else Qt.ShortcutContext.WidgetWithChildrenShortcut)
        item.setProperty("group", group)
        item.triggered.connect(slot)
        widget.addAction(item)
        return item

    key(window, "Play or pause", "Space", viewer.toggle_playback, "Clips")
    key(viewer.variants, "Pick the selected clip", "S", viewer.toggle_star, "Clips")
    key(viewer.variants, "Delete the selected clips", QKeySequence.StandardKey.Delete,
        viewer.delete_selected, "Clips")
    # Break 7: a click on a clip leaves the focus in its strip, and there too the arrows step
    # the frames of the clip just chosen, which is what they are pressed for right then. Moving
    # between clips stays with the mouse and Tab: these take the arrows from the strip.
    key(viewer.strips, "Previous frame", Qt.Key.Key_Left, lambda: window.shown_player().step(-1), "Clips")
    key(viewer.strips, "Next frame", Qt.Key.Key_Right, lambda: window.shown_player().step(1), "Clips")
    key(photos.photos, "Remove the selected photos", QKeySequence.StandardKey.Delete,
        photos.remove_selected_photos, "Photos")


def _panel_toggle(menu: Any, text: str, panel: QWidget, shortcut: str) -> QAction:
    """A View menu item that folds a side panel away, for a small screen, and brings it back."""
    item = menu.addAction(text)
    item.setCheckable(True)
    item.setChecked(True)
    item.setShortcut(QKeySequence(shortcut))
    item.toggled.connect(panel.setVisible)
    return item
