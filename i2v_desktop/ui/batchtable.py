"""The batch dialog's table: one line per row of the catalogue, first as the plan has it (to render,
done by an earlier run, cannot be made), then as each row ends (done or failed, with its clips,
score, time and reason).

The lines are plain frozen data held by a Qt model that lives on the GUI thread; results reach it
through the dialog's slots, never from the thread the batch runs on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from ..core.batch import DONE, FAILED, INVALID, BatchPlan, RowResult

# What a line says before its row has ended in this run.
TO_RENDER = "to render"
DONE_EARLIER = "done earlier"  # an earlier run made it: a run skips it
RENDERING = "rendering"  # with a worker now
STATUS_TEXT = {DONE: "done", FAILED: "failed", INVALID: "cannot be made"}
ERROR_COLOUR = QColor("#d9534f")  # reads on the light and the dark palette alike

COLUMNS = ("Row", "Photo", "Status", "Clips", "Score", "Seconds", "Reason")
ROW, PHOTO, STATUS, CLIPS, SCORE, SECONDS, REASON = range(len(COLUMNS))
# What the columns that hold short values must fit (their headers too); Reason takes what is left.
WIDEST = {ROW: "9999", PHOTO: "spring-collection-01.jpg", STATUS: STATUS_TEXT[INVALID],
          CLIPS: "spring-collection.mp4", SCORE: COLUMNS[SCORE], SECONDS: COLUMNS[SECONDS]}
_LEADING_PATH = re.compile(r"^\S*[/\\]([^/\\:]+): ")


def file_name(location: str) -> str:
    """The last part of a path or URL: what a narrow column shows of it."""
    return PurePath(location.replace("\\", "/")).name or location


def short_reason(reason: str) -> str:
    """A reason as the table shows it: a path it starts with by its file name ("/a/b/x.jpg: photo not
    found" is "x.jpg: photo not found"); the whole line is the cell's tooltip."""
    return _LEADING_PATH.sub(r"\1: ", reason)


@dataclass(frozen=True)
class Line:
    row: int
    photo: str  # the photo as the plan names it (the manifest's words for a bad row)
    status: str  # TO_RENDER, DONE_EARLIER, RENDERING or a core status
    key: str = ""
    result: RowResult | None = None  # how it ended, in this run or the earlier one
    reason: str = ""

    @property
    def clips(self) -> tuple[str, ...]:
        return self.result.clips if self.result is not None and self.status in (DONE, DONE_EARLIER) else ()

    def cell(self, column: int) -> str:
        result = self.result if self.status in (DONE, DONE_EARLIER, FAILED) else None
        if column == ROW:
            return str(self.row)
        if column == PHOTO:
            return file_name(self.photo) if self.photo else "(none)"
        if column == STATUS:
            return STATUS_TEXT.get(self.status, self.status)
        if column == CLIPS:
            names = [file_name(clip) for clip in self.clips]
            return names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "") if names else ""
        if column == SCORE:
            return f"{max(result.scores):.0f}" if result is not None and result.scores else ""
        if column == SECONDS:
            return f"{result.seconds:.1f}" if result is not None and result.seconds else ""
        return short_reason(self.reason)

    def tip(self, column: int) -> str:
        if column == PHOTO:
            return self.photo
        if column == CLIPS:
            return "\n".join(self.clips)
        if column == REASON:
            return self.reason
        if column == STATUS and self.status == DONE_EARLIER:
            return "An earlier run into this folder made it: a run skips it"
        return ""


def plan_lines(plan: BatchPlan, earlier: dict[int, RowResult]) -> list[Line]:
    """The plan as lines, in the manifest's order. `earlier`: what an earlier run recorded for each
    row, by row number (`Studio.earlier_results`)."""
    lines = [Line(bad.row, bad.photo, INVALID, reason=bad.reason) for bad in plan.bad]
    for row in plan.rows:
        before = earlier.get(row.row)
        if before is not None and before.status == DONE:
            lines.append(Line(row.row, row.photo, DONE_EARLIER, row.key, before, before.reason))
        else:
            why = f"last run: {before.reason}" if before is not None and before.reason else ""
            lines.append(Line(row.row, row.photo, TO_RENDER, row.key, reason=why))
    return sorted(lines, key=lambda line: line.row)


class BatchRows(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.lines: list[Line] = []
        self._at: dict[int, int] = {}  # row number → index in `lines`

    def show(self, lines: list[Line]) -> None:
        self.beginResetModel()
        self.lines = list(lines)
        self._at = {line.row: i for i, line in enumerate(self.lines)}
        self.endResetModel()

    @Slot(int)
    def started(self, row: int) -> None:
        """A row of the running batch went to a worker."""
        index = self._at.get(row)
        if index is None or self.lines[index].status not in (TO_RENDER, RENDERING):
            return
        self.lines[index] = replace(self.lines[index], status=RENDERING)
        self.dataChanged.emit(self.index(index, STATUS), self.index(index, STATUS))

    def stopped(self) -> None:
        """The run ended (a cancel): the rows it had with workers were not made, and are to render."""
        for index, line in enumerate(self.lines):
            if line.status == RENDERING:
                self.lines[index] = replace(line, status=TO_RENDER)
                self.dataChanged.emit(self.index(index, STATUS), self.index(index, STATUS))

    def ended(self, result: RowResult) -> None:
        """A row of the running batch ended: its line says how."""
        index = self._at.get(result.row)
        if index is None:
            return  # not a row of the plan on show (the plan was read again since)
        line = self.lines[index]
        self.lines[index] = replace(line, status=result.status, result=result, reason=result.reason)
        self.dataChanged.emit(self.index(index, 0), self.index(index, len(COLUMNS) - 1))

    def count(self, *statuses: str) -> int:
        return sum(line.status in statuses for line in self.lines)

    # -- QAbstractTableModel --------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.lines)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        line, column = self.lines[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return line.cell(column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return line.tip(column) or None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (ROW, SCORE, SECONDS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS and line.status in (FAILED, INVALID):
            return ERROR_COLOUR
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None


class _Elided(QStyledItemDelegate):
    """A column elided in its own way: a file name in the middle (its end says the most)."""

    def __init__(self, mode: Qt.TextElideMode, parent: QWidget) -> None:
        super().__init__(parent)
        self.mode = mode

    def initStyleOption(self, option: QStyleOptionViewItem,  # noqa: N802
                        index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = self.mode


class BatchTable(QTableView):
    """The rows of a batch; a double-click on a done row asks for its clip (the dialog opens it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows = BatchRows(self)
        self.setModel(self.rows)
        self.setAccessibleName("Batch rows")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._middle = _Elided(Qt.TextElideMode.ElideMiddle, self)
        for column in (PHOTO, CLIPS):
            self.setItemDelegateForColumn(column, self._middle)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        metrics = self.fontMetrics()
        for column, text in WIDEST.items():
            # The widest value or the header, and the cell's margins.
            header.resizeSection(column, max(map(metrics.horizontalAdvance, (text, COLUMNS[column]))) + 20)
        header.setSectionResizeMode(REASON, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(40)

    def line_at(self, row: int) -> Line:
        return self.rows.lines[row]
