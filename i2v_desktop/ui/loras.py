"""The LoRA section of the clip settings: the preset's camera LoRA, then the user's own LoRA files
(the LoRA folder's, and files added from anywhere, kept where they are), each checked against the
chosen model.

The Studio lists the files off the GUI thread (it hashes each one); what the user checks and how
strongly lives in the AppState, by each file's content, so it survives a new list. A list that
comes back for a model or a set of files no longer chosen is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QSettings, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.cancel import CancelToken
from ..core.errors import I2VError
from ..core.studio import ModelChoice, Studio
from .background import Background
from .lorarows import CameraRow, LoraRowView
from .panel import Panel
from .state import AppState, Choices

ADD_TIP = "Pick .safetensors LoRA files; they are listed from where they are, also next time"
FOLDER_TIP = "The folder whose .safetensors LoRAs are listed here: drop your LoRAs into it"


class LoraPanel(Panel):
    """The camera LoRA row, a row per LoRA file, and the buttons that add files and open the folder."""

    def __init__(self, state: AppState, studio: Studio, background: Background,
                 model_of: Callable[[str], ModelChoice], settings: QSettings) -> None:
        super().__init__()
        self.state, self.studio, self.background, self.model_of = state, studio, background, model_of
        self.settings = settings
        self._asked: tuple[str, tuple[str, ...]] | None = None  # the (model, files) last listed
        self._camera_for: tuple[str, str] | None = None  # the (model, preset) the camera row shows
        self._listing: CancelToken | None = None
        self.rows: dict[str, LoraRowView] = {}
        # Files dropped into the LoRA folder while the window is open are listed without a restart;
        # a copy lands in several changes, so the list is made once they stop.
        self._watcher = QFileSystemWatcher(self)
        self._rescan = QTimer(self)
        self._rescan.setSingleShot(True)
        self._rescan.setInterval(500)
        self._rescan.timeout.connect(lambda: self.relist(force=True))
        self._watcher.directoryChanged.connect(lambda _: self._rescan.start())

        self.camera = CameraRow()
        self.camera.strengthMoved.connect(self._camera_moved)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setProperty("note", True)
        self.status.setAccessibleName("LoRA list")
        self.list = QVBoxLayout()
        self.list.setContentsMargins(0, 0, 0, 0)
        self.list.setSpacing(2)
        self.add_files = QPushButton("Add LoRA files…")
        self.add_files.setToolTip(ADD_TIP)
        self.add_files.clicked.connect(self.pick_files)
        self.open_folder = QPushButton("Open LoRA folder")
        self.open_folder.setToolTip(FOLDER_TIP)
        self.open_folder.clicked.connect(self.show_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_files)
        buttons.addWidget(self.open_folder)
        buttons.addStretch(1)
        rows = QWidget()
        rows.setLayout(self.list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.camera)
        layout.addWidget(rows)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

        state.choicesChanged.connect(self._on_choices)
        state.loraFilesChanged.connect(lambda: self.relist())
        state.lorasChanged.connect(self._show_rows)
        state.cameraChanged.connect(self._show_camera)

    # -- the Studio, kept in step with the choices ----------------------------------------------

    def files(self) -> tuple[str, ...]:
        return self.state.lora_files + self.state.lora_found

    @Slot(object)
    def _on_choices(self, choices: Choices) -> None:
        model = self.model_of(choices.model).id
        if self._asked is None or self._asked != (model, self.files()):
            self.relist()
        if self._camera_for != (model, choices.preset):
            self.read_camera()
        else:
            self._show_camera()  # the strength may have been restored

    def relist(self, force: bool = False) -> None:
        """List the LoRA files for the chosen model again (off the GUI thread: each file is hashed)."""
        model = self.model_of(self.state.choices.model)
        asked = (model.id, self.files())
        if asked == self._asked and not force:
            return
        self._asked = asked
        self._watch()
        if self._listing is not None:
            self._listing.cancel()  # its list would be for another model or other files
        self._listing = token = CancelToken()
        self.state.begin_lora_listing(model.name)
        self.background.submit(lambda: self.studio.loras(*asked),
                               lambda listing: self._listed(asked, listing),
                               lambda reason: self._listed(asked, [], reason),
                               cancel=token, name="LoRA files")

    def _watch(self) -> None:
        if self._watcher.directories():
            return
        try:
            folder = self.studio.lora_folder()
        except (I2VError, OSError):
            return  # the list says what is wrong with the folder
        self._watcher.addPath(str(folder))

    def _listed(self, asked: tuple[str, tuple[str, ...]], listing: list, error: str = "") -> None:
        if asked == self._asked:
            self._listing = None
            self.state.set_lora_listing(listing, error)

    def read_camera(self) -> None:
        """What the preset's move uses on the chosen model: a registry look-up, read at once."""
        choices = self.state.choices
        model = self.model_of(choices.model).id
        self._camera_for = (model, choices.preset)
        try:
            self.state.set_camera(self.studio.camera_lora(model, choices.preset))
        except I2VError as exc:
            self.state.set_camera(None, str(exc))

    # -- from the state ---------------------------------------------------------------------------

    @Slot()
    def _show_rows(self) -> None:
        state = self.state
        rows = state.lora_rows()
        if [row.key for row in rows] != list(self.rows):
            for view in self.rows.values():
                view.hide()
                view.deleteLater()
            self.rows = {}
            for row in rows:
                view = LoraRowView(row, removable=row.path in state.lora_files + state.lora_found)
                view.toggled.connect(self._toggled)
                view.strengthMoved.connect(state.set_lora_strength)
                view.removeRequested.connect(state.remove_lora_file)
                self.list.addWidget(view)
                view.show()  # now, not when the event loop next runs: the row is there once listed
                self.rows[row.key] = view
        for row in rows:
            self.rows[row.key].show_row(row, enabled=not state.lora_checking)
        if state.lora_checking:
            status = f"Checking the LoRA files against {state.lora_checking}…"
        elif state.lora_error:
            status = state.lora_error
        elif not rows:
            status = "No LoRA files yet: put .safetensors LoRAs in the LoRA folder, or add files"
        else:
            used = len(state.choices.loras)
            fit = sum(row.usable for row in rows)
            status = f"{used} of {fit} that fit {self.model_of(state.choices.model).name} in use"
        self.status.setText(status)

    @Slot()
    def _show_camera(self) -> None:
        self.camera.show_camera(self.state.camera, self.state.choices.camera_lora, self.state.camera_error)

    # -- to the state -----------------------------------------------------------------------------

    def _toggled(self, key: str, on: bool) -> None:
        refused = self.state.use_lora(key, on)
        if refused:
            self.rows[key].show_row(next(r for r in self.state.lora_rows() if r.key == key))
            self.say(refused, "warning")

    def _camera_moved(self, strength: float) -> None:
        camera = self.state.camera
        own = camera.strength if camera is not None else None
        self.state.choose(camera_lora=None if own is not None and abs(strength - own) < 1e-9 else strength)

    def pick_files(self) -> None:
        folder = str(self.settings.value("paths/loras", str(Path.home())))
        files, _ = QFileDialog.getOpenFileNames(self, "Add LoRA files", folder, "LoRA files (*.safetensors)")
        if files:
            self.settings.setValue("paths/loras", str(Path(files[0]).parent))
            self.add(files)

    def add(self, files: list[str]) -> None:
        """Files picked (or dropped) to be listed: those in the LoRA folder are listed already."""
        try:
            folder = self.studio.lora_folder().resolve()
        except (I2VError, OSError) as exc:
            self.say(str(exc), "warning")
            return
        picked = [str(Path(f).resolve()) for f in files]
        outside = [path for path in picked if Path(path).parent != folder]
        if not self.state.add_lora_files(outside) and len(outside) == len(picked):
            self.say("Those LoRA files are on the list already", "info")

    def show_folder(self) -> None:
        """The LoRA folder in the file manager; where none is set up, say where it is."""
        try:
            folder = self.studio.lora_folder()
        except (I2VError, OSError) as exc:
            self.say(str(exc), "warning")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.say(f"{folder}: cannot be opened, no file manager is set up to show folders; put "
                     "your .safetensors LoRAs there", "warning")

    def shutdown(self) -> None:
        self._rescan.stop()
        if self._listing is not None:
            self._listing.cancel()
