"""The keyboard shortcuts sheet: a two-column table, grouped as the menus are, made from the
window's actual actions and the player's keys each time it opens, so it cannot drift from them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

Group = tuple[str, list[tuple[str, str]]]  # a heading, then (keys, what they do) rows


def keys_text(action: QAction) -> str:
    """An action's shortcuts as the user types them ("Ctrl+Return or Ctrl+Enter")."""
    return " or ".join(key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts())


def action_name(action: QAction) -> str:
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").removesuffix("…")


def shortcut_groups(window: QMainWindow, extra: list[Group]) -> list[Group]:
    """Every menu's actions that have a shortcut, under the menu's name; then the actions of
    `window`'s widgets that belong to no menu (each names its group in the "group" property);
    then `extra` (keys that widgets handle themselves)."""
    groups: list[Group] = []
    in_menus: set[QAction] = set()
    for top in window.menuBar().actions():
        menu = top.menu()
        if menu is None:
            continue
        actions = [a for a in menu.actions() if not a.isSeparator()]
        in_menus.update(actions)
        rows = [(keys_text(a), action_name(a)) for a in actions if a.shortcuts()]
        if rows:
            groups.append((action_name(top), rows))
    loose: dict[str, list[tuple[str, str]]] = {}
    for action in window.findChildren(QAction):
        if action not in in_menus and action.shortcuts() and action.property("group"):
            row = (keys_text(action), action_name(action))
            loose.setdefault(str(action.property("group")), []).append(row)
    return groups + list(loose.items()) + extra


class ShortcutsSheet(QDialog):
    def __init__(self, groups: list[Group], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(0, 2, self)
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setHorizontalHeaderLabels(["Keys", "Does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        for heading, rows in groups:
            row = self.table.rowCount()
            self.table.insertRow(row)
            title = QTableWidgetItem(heading)
            font = title.font()
            font.setBold(True)
            title.setFont(font)
            self.table.setItem(row, 0, title)
            self.table.setSpan(row, 0, 1, 2)
            for keys, does in rows:
                row = self.table.rowCount()
                self.table.insertRow(row)
                self.table.setItem(row, 0, QTableWidgetItem(keys))
                self.table.setItem(row, 1, QTableWidgetItem(does))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.resizeColumnsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        width = self.table.horizontalHeader().length() + 60
        height = self.table.verticalHeader().length() + self.table.horizontalHeader().height() + 90
        self.resize(max(420, width), min(640, height))

    def rows(self) -> list[tuple[str, str]]:
        """(keys, does) for each row, a heading as (heading, "")."""
        def text(row: int, column: int) -> str:
            item = self.table.item(row, column)
            return item.text() if item is not None else ""

        return [(text(row, 0), text(row, 1)) for row in range(self.table.rowCount())]
