"""One app per data folder: a second start hands its photos to the first and brings it forward.

The first start takes a lock file in the data folder and listens on a local socket named after
the folder (a hash of its path, so two data folders are two apps). A later start that finds the
lock sends its photo paths over that socket and waits for the answer; the first adds them and
comes to the front, and the later one exits. When the lock is held but nobody answers (the
first is hung, or stopped), the later start opens read-only: it must not write the history or
the queue while another process may.

The lock is released when the process ends, however it ends: a lock left by a killed process is
recognised as stale (its process is gone) and taken over.
"""

from __future__ import annotations

import hashlib
import json
import logging
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)
LOCK_NAME = "instance.lock"
ANSWER = b"ok\n"
CONNECT_MS = 1000
ANSWER_MS = 3000  # a first instance busy for longer than this is taken for hung


class Role(Enum):
    FIRST = "first"  # this process owns the data folder
    HANDED_OVER = "handed over"  # the first one took the photos: this process should exit
    READ_ONLY = "read-only"  # the folder is locked and nobody answers


def server_name(folder: Path) -> str:
    digest = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:16]
    return f"i2v-desktop-{digest}"


class Instance(QObject):
    """The claim this process has on a data folder. `claim()` once, `release()` when done."""

    photosReceived = Signal(list)  # paths another start passed along (possibly empty)

    def __init__(self, folder: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.lock_path = self.folder / LOCK_NAME
        self.name = server_name(self.folder)
        self.reason = ""  # why this process is read-only, in one line
        self._lock = QLockFile(str(self.lock_path))
        self._lock.setStaleLockTime(0)  # stale only when its process is gone, never because it is old
        self._server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytes] = {}

    def claim(self, photos: list[str]) -> Role:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.reason = f"{self.folder}: cannot create the data folder ({exc.strerror or exc})"
            return Role.READ_ONLY
        if self._lock.tryLock(0):
            self._listen()
            return Role.FIRST
        if self._lock.error() != QLockFile.LockError.LockFailedError:
            self.reason = f"{self.lock_path}: cannot take the lock ({self._lock.error().name})"
            return Role.READ_ONLY
        if self._hand_over(photos):
            return Role.HANDED_OVER
        self.reason = (f"{self.lock_path}: another i2v desktop has this data folder open but does not "
                       "answer; this window is read-only (no renders, the history and the queue are "
                       "left as they are)")
        return Role.READ_ONLY

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()

    # -- the first instance ---------------------------------------------------------------------

    def _listen(self) -> None:
        # A socket file left by a killed first instance would refuse the name: we hold the lock,
        # so whatever is there is stale.
        QLocalServer.removeServer(self.name)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            log.warning("%s: cannot listen for later starts (%s); they will open read-only",
                        self.name, server.errorString())
            return
        server.newConnection.connect(self._on_connection)
        self._server = server

    @Slot()
    def _on_connection(self) -> None:
        while self._server is not None and (socket := self._server.nextPendingConnection()) is not None:
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda socket=socket: self._on_ready(socket))
            socket.disconnected.connect(lambda socket=socket: self._forget(socket))

    def _on_ready(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        if not data.endswith(b"\n"):
            self._buffers[socket] = data
            return
        self._buffers[socket] = b""
        try:
            message = json.loads(data)
            photos = [str(path) for path in message.get("photos", [])]
        except (ValueError, AttributeError, TypeError):
            log.warning("a later start sent a message that does not read: %r", data[:200])
            socket.disconnectFromServer()
            return
        socket.write(ANSWER)
        socket.flush()
        log.info("a later start handed over %d photo(s): %s", len(photos), ", ".join(Path(p).name for p in photos))
        self.photosReceived.emit(photos)

    def _forget(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()

    # -- a later start --------------------------------------------------------------------------

    def _hand_over(self, photos: list[str]) -> bool:
        """Give the first instance our photos; True when it answered."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_MS):
            log.warning("%s: the first i2v desktop does not listen (%s)", self.name, socket.errorString())
            return False
        socket.write(json.dumps({"photos": photos}).encode("utf-8") + b"\n")
        socket.flush()
        answer = b""
        while not answer.endswith(b"\n") and socket.waitForReadyRead(ANSWER_MS):
            answer += bytes(socket.readAll().data())
        socket.disconnectFromServer()
        if answer != ANSWER:
            log.warning("%s: the first i2v desktop did not answer within %d ms", self.name, ANSWER_MS)
        return answer == ANSWER
