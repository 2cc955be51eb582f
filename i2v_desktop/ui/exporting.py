"""The export action: the dialog for picked clips, then the export on a background thread with its
progress and its Stop button in the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget

from ..core.cancel import CancelToken
from ..core.record import ClipEntry
from ..core.naming import DEFAULT_TEMPLATE, file_stem
from ..core.studio import ExportJob, ExportReport, Studio
from .export import ExportDialog, ExportPlan, name_fields
from .panel import plural, tool
from .state import AppState
from .background import Background


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
        dialog = ExportDialog(
            shown, [f"{Path(e.photo).name} · {e.label}" for e in shown],
            self.studio.export_choices(), picked=picked,
            preset=str(self.settings.value("export/preset", "reels")),
            folder=str(self.settings.value("export/folder", str(Path.home() / "Videos" / "i2v"))),
            template=str(self.settings.value("export/template", DEFAULT_TEMPLATE)),
            open_folder=self.settings.value("export/open_folder", "true") == "true", parent=self._window)
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return
        self.start_export(dialog.plan())

    def start_export(self, plan: ExportPlan) -> None:
        """Export on a background thread, one clip after another; progress in the status bar."""
        self.settings.setValue("export/preset", plan.preset)
        self.settings.setValue("export/folder", str(plan.folder))
        self.settings.setValue("export/template", plan.template)
        self.settings.setValue("export/open_folder", "true" if plan.open_folder else "false")
        cancel = self._cancel = CancelToken()
        total = len(plan.entries)
        relay, studio = self._relay, self.studio
        jobs = [ExportJob(entry.mp4, plan.preset, plan.folder, file_stem(plan.template, name_fields(entry, plan.preset)))
                for entry in plan.entries]

        def progress(index: int, fraction: float) -> None:
            relay.progress.emit((index + fraction) / total, f"Exporting {index + 1}/{total}")

        def work() -> ExportReport:
            return studio.export_many(jobs, cancel, progress)

        self.progress.setValue(0)
        self.progress.setRange(0, 1000)
        self.progress.show()
        self.stop.show()
        self.status.setText(f"Exporting {plural(total, 'clip')}…")
        self.background.submit(work, lambda result: self._on_export_returned(plan, result),
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

    def _on_export_returned(self, plan: ExportPlan, report: ExportReport) -> None:
        written, failed = list(report.written), list(report.failed)
        self.last_export = written
        if report.cancelled:  # what was written before the stop is kept
            self._ended(f"Export stopped ({len(written)} of {len(plan.entries)} clips written)")
            return
        self._ended(f"Exported {len(written)} of {len(plan.entries)} clips to {plan.folder}"
                    if failed else f"Exported {plural(len(written), 'clip')} to {plan.folder}")
        for line in failed:
            self.message.emit(line, "error", None)
        if not written:
            return
        url = QUrl.fromLocalFile(str(plan.folder))
        if plan.open_folder and not self._closing:
            QDesktopServices.openUrl(url)
        elif not failed:
            self.message.emit(f"Exported {plural(len(written), 'clip')} to {plan.folder}", "info",
                              ("Open folder", lambda: QDesktopServices.openUrl(url)))
