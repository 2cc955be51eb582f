"""A local stand-in for huggingface.co: repos served from folders over HTTP on 127.0.0.1.

It answers the calls huggingface_hub's downloads really make, the way the hub answers them: the
repo info and tree listing APIs (sizes, blob ids, LFS sha256), HEAD and GET on
`/{repo}/resolve/{revision}/{file}` with X-Repo-Commit, ETag and Content-Length; for weights (LFS
files) a 302 to a "CDN" on another origin with X-Linked-Etag and X-Linked-Size, as the hub does;
Range requests (206 and Content-Range), and 401/403 with `X-Error-Code: GatedRepo` for a gated
repo without the right token. It can throttle its bytes (to interrupt a download mid-file), counts the bytes it
served and records the Range headers it was sent. `close()` joins every thread it started.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

TOKEN = "hf_fake_token_accepted_terms"
_REPO = r"(?P<repo>[^/]+/[^/]+)"
_API = re.compile(rf"^/api/models/{_REPO}(?:/(?P<kind>tree|revision)/(?P<rev>[^/]+)(?:/.*)?)?$")
_RESOLVE = re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
_CDN = re.compile(rf"^/cdn/{_REPO}/(?P<rev>[0-9a-f]{{40}})/(?P<file>.+)$")


@dataclass
class FakeRepo:
    folder: Path
    commit: str
    gated: bool = False
    files: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.files = {p.relative_to(self.folder).as_posix(): p for p in sorted(self.folder.rglob("*")) if p.is_file()}
        self._hashes: dict[str, tuple[str, str]] = {}

    def hashes(self, name: str) -> tuple[str, str]:
        """(git blob id, sha256) of a file, worked out once (the server's threads may race: same result)."""
        if name not in self._hashes:
            data = self.files[name].read_bytes()
            self._hashes[name] = (_blob_id(data), hashlib.sha256(data).hexdigest())
        return self._hashes[name]


def _lfs(path: str) -> bool:
    return path.endswith((".safetensors", ".bin", ".ckpt", ".pt"))


def _blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """The server; `add` a folder as a repo, point huggingface_hub at `endpoint`."""

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.rate: float | None = None  # bytes per second of a file body; None: as fast as it goes
        self.bytes_served = 0
        self.ranges: list[str] = []  # every Range header a GET carried
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.statuses: list[int] = []  # every error status it answered
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:  # noqa: N802 - the http.server naming
                hub._answer(self, body=False)

            def do_GET(self) -> None:  # noqa: N802
                hub._answer(self, body=True)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return None

        self._servers, self._threads = [], []
        for name in ("fakehub", "fakehub-cdn"):  # the hub, and the storage its weights are served from
            server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            server.daemon_threads = False  # server_close() joins the request threads
            server.block_on_close = True
            thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)

    @property
    def endpoint(self) -> str:
        host, port = self._servers[0].server_address[:2]
        return f"http://{host}:{port}"

    @property
    def cdn(self) -> str:
        host, port = self._servers[1].server_address[:2]
        return f"http://{host}:{port}"

    def add(self, repo: str, folder: Path, gated: bool = False) -> str:
        """Serve `folder` as `repo` at a commit of its own; its commit hash."""
        commit = hashlib.sha1(f"{repo}:{folder}".encode()).hexdigest()
        self.repos[repo] = FakeRepo(Path(folder), commit, gated)
        return commit

    def close(self) -> None:
        for server, thread in zip(self._servers, self._threads):
            server.shutdown()
            server.server_close()
            thread.join()

    # -- answers --------------------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        path = unquote(urlsplit(handler.path).path)
        with self._lock:
            self.requests.append((handler.command, path))
        try:
            if match := _API.match(path):
                self._api(handler, match)
            elif match := _RESOLVE.match(path):
                self._resolve(handler, match, body)
            elif match := _CDN.match(path):
                self._file(handler, match, body)
            else:
                self._error(handler, 404, "EntryNotFound", f"no route {path}")
        except (BrokenPipeError, ConnectionResetError):
            return  # the client stopped reading (a cancelled download)

    def _repo(self, handler: BaseHTTPRequestHandler, repo_id: str, rev: str | None) -> FakeRepo | None:
        repo = self.repos.get(repo_id)
        if repo is None:
            self._error(handler, 401, "RepoNotFound", "Repository not found")
            return None
        if repo.gated:
            auth = handler.headers.get("Authorization", "")
            if auth != f"Bearer {TOKEN}":
                status = 403 if auth else 401
                self._error(handler, status, "GatedRepo",
                            f"Access to model {repo_id} is restricted. You must have access to it and be "
                            f"authenticated to access it. Please log in.")
                return None
        if rev is not None and rev not in (repo.commit, "main"):
            self._error(handler, 404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return None
        return repo

    def _api(self, handler: BaseHTTPRequestHandler, match: re.Match[str]) -> None:
        repo = self._repo(handler, match["repo"], match["rev"])
        if repo is None:
            return
        if match["kind"] == "tree":
            listing = []
            for name, file in repo.files.items():
                size = file.stat().st_size
                blob_id, sha256 = repo.hashes(name)
                item = {"type": "file", "oid": blob_id, "size": size, "path": name}
                if _lfs(name):
                    item["lfs"] = {"oid": sha256, "size": size, "pointerSize": 134}
                listing.append(item)
            self._json(handler, listing)
        else:
            self._json(handler, {"id": match["repo"], "modelId": match["repo"], "sha": repo.commit, "private": False,
                                 "gated": "manual" if repo.gated else False,
                                 "siblings": [{"rfilename": name} for name in repo.files]})

    def _resolve(self, handler: BaseHTTPRequestHandler, match: re.Match[str], body: bool) -> None:
        repo = self._repo(handler, match["repo"], match["rev"])
        if repo is None:
            return
        file = repo.files.get(match["file"])
        if file is None:
            self._error(handler, 404, "EntryNotFound", f"{match['file']} does not exist")
            return
        if not _lfs(match["file"]):
            self._file(handler, match, body, repo)
            return
        blob_id, sha256 = repo.hashes(match["file"])  # weights: the hub answers with where the bytes are
        handler.send_response(302)
        handler.send_header("X-Repo-Commit", repo.commit)
        handler.send_header("X-Linked-Etag", f'"{sha256}"')
        handler.send_header("X-Linked-Size", str(file.stat().st_size))
        handler.send_header("ETag", f'"{blob_id}"')
        handler.send_header("Location", f"{self.cdn}/cdn/{match['repo']}/{repo.commit}/{match['file']}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _file(self, handler: BaseHTTPRequestHandler, match: re.Match[str], body: bool,
              repo: FakeRepo | None = None) -> None:
        repo = repo or self.repos.get(match["repo"])
        file = repo.files.get(match["file"]) if repo is not None else None
        if file is None:
            self._error(handler, 404, "EntryNotFound", f"{match['file']} does not exist")
            return
        blob_id, sha256 = repo.hashes(match["file"])
        etag = sha256 if _lfs(match["file"]) else blob_id
        data = file.read_bytes() if body else b""
        size = file.stat().st_size
        start, status = 0, 200
        wanted = handler.headers.get("Range")
        if body and wanted:
            with self._lock:
                self.ranges.append(wanted)
            found = re.fullmatch(r"bytes=(\d+)-", wanted.strip())
            if found is None or int(found[1]) >= size:
                self._error(handler, 416, "RangeNotSatisfiable", f"bad range {wanted}")
                return
            start, status = int(found[1]), 206
        handler.send_response(status)
        handler.send_header("X-Repo-Commit", repo.commit)
        handler.send_header("ETag", f'"{etag}"')
        handler.send_header("Accept-Ranges", "bytes")
        handler.send_header("Content-Length", str(size - start))
        if status == 206:
            handler.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        handler.end_headers()
        if body:
            self._send(handler, data[start:])

    def _send(self, handler: BaseHTTPRequestHandler, data: bytes) -> None:
        chunk = 16 * 1024
        for offset in range(0, len(data), chunk):
            piece = data[offset:offset + chunk]
            handler.wfile.write(piece)
            handler.wfile.flush()
            with self._lock:
                self.bytes_served += len(piece)
            if self.rate:
                time.sleep(len(piece) / self.rate)

    def _json(self, handler: BaseHTTPRequestHandler, data: object) -> None:
        raw = json.dumps(data).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        if handler.command == "GET":
            handler.wfile.write(raw)

    def _error(self, handler: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
        with self._lock:
            self.statuses.append(status)
        raw = json.dumps({"error": message}).encode()
        handler.send_response(status)
        handler.send_header("X-Error-Code", code)
        handler.send_header("X-Error-Message", message)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        if handler.command == "GET":
            handler.wfile.write(raw)


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    """A running FakeHub that huggingface_hub talks to, online, with an empty cache of this test's own."""
    from huggingface_hub import constants

    hub = FakeHub()
    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 5)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-stored-tokens"))
    try:
        yield hub
    finally:
        hub.close()
