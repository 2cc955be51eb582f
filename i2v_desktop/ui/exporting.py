"""The export action: the dialog for picked clips, then the export (each clip in each chosen format)
on a background thread with its progress and its Stop button in the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QWidget
from shiboken6 import isValid

from ..core.cancel import CancelToken
from ..core.record import ClipEntry
from ..core.naming import DEFAULT_TEMPLATE, file_stem
from ..core.studio import ExportJob, ExportReport, Studio
from .export import ExportDialog, ExportPlan, name_fields
from .panel import plural, tool
from .state import AppState
from .background import Background


# The formats the dialog remembers, as ids joined by commas (one INI value on every platform).
FORMATS_KEY = "export/formats"
DEFAULT_FORMATS = "reels"


class _ProgressRelay(QObject):
    """Carries export progress from the background thread to the GUI thread."""

    progress = Signal(float, str)


class Exporter(QObject):
    """Exports one plan at a time. Its widgets (`status`, `progress`, `stop`) go in the status bar."""

    message = Signal(str, str, object)  # as Panel.message

    def __init__(self, state: AppState, studio: Studio, background: Background, settings: QSettings,
                 window: QWidget) -> None:
        super().__init__(window)
        self.state, self.studio, self.background, self.settings = state, studio, background, settings
        self._window = window  # the dialog's parent
        self.last_export: list[Path] = []
        self._cancel: CancelToken | None = None  # set while an export runs
        self._closing = False
        self._relay = _ProgressRelay(self)
        self._relay.progress.connect(self._on_export_progress)
        self.status = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.stop = tool("Stop export", "Stop the export")
        self.stop.hide()
        self.stop.clicked.connect(self.cancel_export)

    @property
    def busy(self) -> bool:
        return self._cancel is not None

    def export_clips(self, selected: list[ClipEntry]) -> None:
        """The dialog for the picked clips (or, none picked, `selected`: those of the strip on show)."""
        if self.busy:
            self.message.emit("An export is already running; wait for it or stop it", "info", None)
            return
        entries = self.studio.clips()
        picked = {e.id for e in entries if e.starred}
        if not picked:
            picked = {e.id for e in selected}
        shown = [e for e in entries if e.id in picked or e.photo == self.state.selected]
        if not shown:
            self.message.emit("Nothing to export yet: generate clips and pick (★) the ones you like", "info", None)
            return
        focus = QApplication.focusWidget()
        # Before the choice of several formats, one format was kept under "export/preset".
        formats = self.settings.value(FORMATS_KEY, self.settings.value("export/preset", DEFAULT_FORMATS))
        if not isinstance(formats, list):  # Qt reads a list where a hand-typed "reels, square" has no quotes
            formats = str(formats).split(",")
        dialog = ExportDialog(
            shown, [f"{Path(e.photo).name} · {e.label}" for e in shown],
            self.studio.export_choices(), picked=picked,
            formats=[str(name).strip() for name in formats],
            folder=str(self.settings.value("export/folder", str(Path.home() / "Videos" / "i2v"))),
            template=str(self.settings.value("export/template", DEFAULT_TEMPLATE)),
            open_folder=self.settings.value("export/open_folder", "true") == "true", parent=self._window)
        accepted = dialog.exec() == ExportDialog.DialogCode.Accepted
        plan = dialog.plan()
        dialog.deleteLater()
        # Where no window manager hands the focus back (or it gives it elsewhere), the window stayed
        # inactive after the dialog and its shortcuts, Ctrl+Q among them, did nothing: take it back.
        self._window.activateWindow()
        # The widget may have gone while the dialog was open (a render that finished rebuilt the strip).
        if focus is not None and isValid(focus) and focus.isVisible():
            focus.setFocus()
        if accepted:
            self.start_export(plan)

    def start_export(self, plan: ExportPlan) -> None:
        """Export on a background thread, one clip after another; progress in the status bar."""
        self.settings.setValue(FORMATS_KEY, ",".join(plan.presets))
        self.settings.setValue("export/folder", str(plan.folder))
        self.settings.setValue("export/template", plan.template)
        self.settings.setValue("export/open_folder", "true" if plan.open_folder else "false")
        cancel = self._cancel = CancelToken()
        relay, studio = self._relay, self.studio
        jobs = [ExportJob(entry.mp4, preset, plan.folder,
                          file_stem(plan.template, name_fields(entry, preset)))
                for entry in plan.entries for preset in plan.presets]
        total = len(jobs)

        def progress(index: int, fraction: float) -> None:
            relay.progress.emit((index + fraction) / total, f"Exporting {index + 1}/{total}")

        def work() -> ExportReport:
            return studio.export_many(jobs, cancel, progress)

        self.progress.setValue(0)
        self.progress.setRange(0, 1000)
        self.progress.show()
        self.stop.show()
        self.status.setText(f"Exporting {plural(total, 'file')}…")
        self.background.submit(work, lambda result: self._on_export_returned(plan, total, result),
                               self._on_export_errored, self._on_export_cancelled, cancel=cancel, name="export")

    def cancel_export(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()

    def shutdown(self) -> None:
        """The window is closing: stop the export, and open no folder when it ends."""
        self._closing = True
        self.cancel_export()

    @Slot(float, str)
    def _on_export_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.status.setText(text)

    def _ended(self, status: str) -> None:
        self._cancel = None
        self.progress.hide()
        self.stop.hide()
        self.status.setText(status)

    def _on_export_cancelled(self) -> None:
        self._ended("Export stopped")

    def _on_export_errored(self, reason: str) -> None:
        self._ended("Export failed")
        self.message.emit(reason, "error", None)

    def _on_export_returned(self, plan: ExportPlan, total: int, report: ExportReport) -> None:
        written, failed = list(report.written), list(report.failed)
        self.last_export = written
        noun = "clip" if len(plan.presets) == 1 else "file"
        if report.cancelled:  # what was written before the stop is kept
            self._ended(f"Export stopped ({len(written)} of {plural(total, noun)} written)")
            return
        self._ended(f"Exported {len(written)} of {plural(total, noun)} to {plan.folder}"
                    if failed else f"Exported {plural(len(written), noun)} to {plan.folder}")
        for line in failed:
            self.message.emit(line, "error", None)
        for line in report.notes:
            self.message.emit(line, "info", None)
        if not written:
            return
        if plan.open_folder and not self._closing:
            self.open_folder(plan.folder)
        elif not failed and not report.notes:
            self.message.emit(f"Exported {plural(len(written), noun)} to {plan.folder}", "info",
                              ("Open folder", lambda: self.open_folder(plan.folder)))

    def open_folder(self, folder: Path) -> None:
        """Show `folder` in the file manager; where none is set up, say so (Qt only returns False)."""
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.message.emit(f"{folder}: cannot be opened, no file manager is set up to show folders",
                              "warning", None)
