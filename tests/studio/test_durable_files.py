"""Files that are never lost or overwritten: names taken without replacing (item 1), names that
always fit (6a), clip + sidecar + history entry as one (10), nothing left behind by a killed or
stopped render (11), and exports that name the photo by its file name only (18)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from i2v_desktop.core import durable
from i2v_desktop.core.batch import NAME_BYTES, safe_name
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import ExportError
from i2v_desktop.core.events import Failed
from i2v_desktop.core.naming import file_stem
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.studio import ExportJob
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.core.durable import clear_stale_parts, hold, release
from i2v_desktop.export.mp4 import read_mp4_metadata
from i2v_desktop.export.social import load_export_presets
from i2v_desktop.storage.history import History
from i2v_desktop.studio.exports import export_to
from i2v_desktop.studio.local import LocalStudio
from i2v_desktop.studio.records import METADATA_KEY, read_record
from i2v_desktop.studio.render import Engines, render_to_files, save_clip

ROOT = Path(__file__).resolve().parents[2]
QUICK = dict(model="instant", duration=0.5, fps=12.0, aspect="1:1", quality="draft", variants=1, seed=7)


@pytest.fixture(scope="module")
def engine():
    return Engines(load_registry(), load_presets()).for_model("instant")


@pytest.fixture
def studio(tmp_path):
    made = LocalStudio(Engines(load_registry(), load_presets(), device="cpu"), History(tmp_path / "history"),
                       load_export_presets(), tmp_path / "data")
    yield made
    made.close()


def render(engine, photo: Path, out: Path, **changes) -> tuple[list, list]:
    events: list = []
    request = GenerationRequest(image=str(photo), **{**QUICK, **changes})
    return render_to_files(engine, request, out, events.append, CancelToken()), events


def sidecar(mp4: Path) -> dict:
    return json.loads(mp4.with_suffix(".json").read_text(encoding="utf-8"))


def child_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_DATA_HOME": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}


# -- item 1: two renders of one photo into one folder, at once ----------------------------------

# Both processes encode, then wait at the commit until the other is there too: both chose
# coffee.mp4 when they started, and both put their clip in place at the same moment.
RACE = """
import os, sys, time
from pathlib import Path
import i2v_desktop.export.files as files
import i2v_desktop.export.stream as stream
real = files.commit
def commit(tmp, path, companions=()):
    gate = Path(os.environ["GATE"])
    (gate / str(os.getpid())).touch()
    deadline = time.monotonic() + 300
    while len(list(gate.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    return real(tmp, path, companions)
stream.commit = commit  # where a render's clip takes its name
from i2v_desktop.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_item1_two_processes_rendering_one_photo_into_one_folder_keep_both_and_report_each(samples, tmp_path):
    out, gate = tmp_path / "out", tmp_path / "gate"
    out.mkdir()
    gate.mkdir()
    env = {**child_env(tmp_path), "GATE": str(gate)}
    procs = [subprocess.Popen([sys.executable, "-c", RACE, "render", str(samples / "coffee.jpg"), "--model",
                               "instant", "--duration", "0.5", "--fps", "12", "--aspect", "1:1", "--quality",
                               "draft", "--seed", str(seed), "--out", str(out)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in (11, 22)]
    told = {}
    for seed, proc in zip((11, 22), procs):
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
        listed = [line.split()[0] for line in stdout.splitlines() if line.strip().endswith("fps")]
        assert len(listed) == 1, stdout
        told[seed] = Path(listed[0])
    assert len(list(gate.iterdir())) == 2  # both were at the commit together
    assert sorted(path.name for path in told.values()) == ["coffee-2.mp4", "coffee.mp4"]
    assert sorted(path.name for path in out.iterdir()) == ["coffee-2.json", "coffee-2.mp4", "coffee.json", "coffee.mp4"]
    for seed, path in told.items():  # each process named the file that holds its own clip
        assert sidecar(path)["request"]["seed"] == seed
        assert json.loads(read_mp4_metadata(path)[METADATA_KEY])["request"]["seed"] == seed


def test_item1_an_export_whose_name_was_taken_meanwhile_goes_to_the_next_and_says_so(engine, samples, tmp_path,
                                                                                       monkeypatch):
    (clip,), _ = render(engine, samples / "coffee.jpg", tmp_path)
    social = tmp_path / "social"
    social.mkdir()
    import i2v_desktop.export.social as exporting

    real = exporting.commit

    def commit(tmp, path, companions=()):
        path.write_bytes(b"another export took the name meanwhile")
        return real(tmp, path, companions)

    monkeypatch.setattr(exporting, "commit", commit)
    written = export_to(clip.mp4, load_export_presets().get("source"), social)
    assert written == social / "coffee_source-2.mp4"
    assert (social / "coffee_source.mp4").read_bytes() == b"another export took the name meanwhile"
    assert json.loads(written.with_suffix(".json").read_text())["file"] == "coffee_source-2.mp4"
    assert not (social / "coffee_source.json").exists()


# -- item 6a: names of any length -----------------------------------------------------------------


def test_item6a_a_photo_name_of_250_bytes_gives_clips_that_fit_keeping_extension_and_numbering(engine, samples,
                                                                                                tmp_path):
    photo = tmp_path / ("é" * 123 + ".jpg")  # 250 bytes
    shutil.copyfile(samples / "coffee.jpg", photo)
    out = tmp_path / "out"
    out.mkdir()
    first, events = render(engine, photo, out, variants=2)
    again, _ = render(engine, photo, out, variants=2)
    assert not [e for e in events if isinstance(e, Failed)]
    names = sorted(path.name for path in out.iterdir())
    assert len(names) == 8 and all(len(name.encode()) <= 255 for name in names)
    stem = "é" * 88  # 176 bytes: room for _v1 within the 180 every name is made from
    assert {output.mp4.name for output in first} == {f"{stem}_v1.mp4", f"{stem}_v2.mp4"}
    assert {output.mp4.name for output in again} == {f"{stem}_v1-2.mp4", f"{stem}_v2-2.mp4"}
    assert all(output.sidecar == output.mp4.with_suffix(".json") and output.sidecar.is_file()
               for output in first + again)
    # Its exports keep their preset in the name, however long the clip's.
    exported = export_to(first[0].mp4, load_export_presets().get("source"), out)
    assert exported.name.endswith("_source.mp4") and len(exported.name.encode()) <= 255


def test_item6a_template_and_batch_names_fit_in_bytes_not_just_characters():
    long = "写真" * 200
    assert len(file_stem("{photo}_{format}", {"photo": long, "format": "reels"}).encode()) <= durable.MAX_STEM_BYTES
    assert len(file_stem("{photo}", {"photo": "x" * 500})) == 180
    name = safe_name(long)
    assert len(name.encode()) <= NAME_BYTES and name.startswith("写真")
    assert safe_name("coffee") == "coffee"


# -- item 10: clip, sidecar and history entry are one ----------------------------------------------


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_item10_a_sidecar_that_cannot_be_written_takes_its_clip_with_it(engine, samples, tmp_path, monkeypatch):
    monkeypatch.setattr(durable, "write_durably", no_space)
    outputs, events = render(engine, samples / "coffee.jpg", tmp_path)
    failed = [event.reason for event in events if isinstance(event, Failed)]
    assert outputs == [] and len(failed) == 1
    assert failed[0] == (f"{tmp_path / 'coffee.mp4'}: not kept, its sidecar could not be written "
                         f"({tmp_path / 'coffee.json'}: no space left on device)")
    assert list(tmp_path.iterdir()) == []  # no clip without its record, no temporary part


def test_item10_save_clip_says_the_clip_was_not_kept(samples, tmp_path, monkeypatch, engine):
    first = tmp_path / "first"
    first.mkdir()
    (output,), _ = render(engine, samples / "coffee.jpg", first)
    monkeypatch.setattr(durable, "write_durably", no_space)
    with pytest.raises(ExportError, match=r"coffee\.mp4: not kept, its sidecar could not be written"):
        save_clip(output.clip, tmp_path / "coffee.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first"]


def test_item10_a_clip_the_history_cannot_take_is_removed_with_its_sidecar(studio, samples, tmp_path, monkeypatch):
    monkeypatch.setattr(History, "add", no_space)
    events, saved = [], []
    studio.render(GenerationRequest(image=str(samples / "coffee.jpg"), **QUICK), events.append, CancelToken(),
                  saved.append)
    failed = [event.reason for event in events if isinstance(event, Failed)]
    assert saved == [] and failed == ["coffee.mp4: not kept, the history could not take it (no space left on device)"]
    assert [path for path in (tmp_path / "history").rglob("*") if path.is_file()
            and path.suffix in (".mp4", ".json") and path.name != "index.json"] == []


def test_item10_in_the_windows_render_process_too_the_job_fails_in_one_line_with_nothing_left(samples, tmp_path,
                                                                                             monkeypatch):
    from i2v_desktop.storage.history import HistoryError
    from i2v_desktop.studio.process import RenderProcess

    monkeypatch.setattr(History, "add", no_space)
    made = LocalStudio(Engines(load_registry(), load_presets(), device="cpu"), History(tmp_path / "history"),
                       load_export_presets(), tmp_path / "data", process=RenderProcess())
    try:
        with pytest.raises(HistoryError) as caught:
            made.render(GenerationRequest(image=str(samples / "coffee.jpg"), **QUICK), lambda event: None,
                        CancelToken(), lambda saved: None)
    finally:
        made.close()
    assert str(caught.value) == "coffee.mp4: not kept, the history could not take it (no space left on device)"
    assert [path for path in (tmp_path / "history").rglob("*") if path.is_file()
            and path.suffix in (".mp4", ".json") and path.name != "index.json"] == []


# -- item 11: nothing left behind -------------------------------------------------------------------


def part_in(folder: Path, age: float) -> Path:
    part = folder / f".coffee.mp4{durable.PART_MARK}0badc0de.mp4"
    part.write_bytes(b"half a clip")
    os.utime(part, (time.time() - age, time.time() - age))
    return part


def test_item11_parts_left_by_killed_renders_go_at_the_next_start_live_ones_stay(engine, studio, samples, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead, live = part_in(out, 120), out / f".other.mp4{durable.PART_MARK}12345678.mp4"
    live.write_bytes(b"another render is writing this")
    os.utime(live, (time.time() - 30, time.time() - 30))
    lock = hold(live)
    render(engine, samples / "coffee.jpg", out)
    release(lock)
    assert not dead.exists() and live.exists()
    # The history's clip folders are cleared when the history opens (the next start).
    day = tmp_path / "history" / "clips" / "2026-01-02"
    day.mkdir(parents=True)
    dead = part_in(day, 120)
    History(tmp_path / "history")
    assert not dead.exists()


@pytest.mark.skipif(os.name != "posix", reason="parts are held with POSIX locks")
def test_item11_a_held_part_stays_and_goes_once_its_writer_lets_go(tmp_path):
    held, sidecar = part_in(tmp_path, 5), tmp_path / f".coffee.json{durable.PART_MARK}0badc0de.json"
    sidecar.write_text("{")
    os.utime(sidecar, (time.time() - 5, time.time() - 5))
    lock = hold(held)
    assert clear_stale_parts(tmp_path) == 0 and held.exists() and sidecar.exists()
    release(lock)
    # Unheld: an encode's part goes at once; a sidecar's (written unheld, in milliseconds) once a
    # minute old.
    assert clear_stale_parts(tmp_path) == 1 and not held.exists() and sidecar.exists()
    os.utime(sidecar, (time.time() - 61, time.time() - 61))
    assert clear_stale_parts(tmp_path) == 1 and not sidecar.exists()


def ffmpeg_children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return [child for child in found if "ffmpeg" in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")]


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")  # dead; only waiting for whoever adopted it to reap it


# A clip encoded from frames that keep coming: the test stops the process in the middle.
ENCODE = """
import sys, time
from pathlib import Path
import numpy as np
from i2v_desktop.cli.stop import stop_on_sigterm
from i2v_desktop.export.mp4 import write_mp4
stop_on_sigterm()
def frames():
    for i in range(100000):
        if i == 12:
            print("encoding", flush=True)
        time.sleep(0.01)
        yield np.full((64, 64, 3), i % 256, np.uint8)
try:
    write_mp4(frames(), 24, Path(sys.argv[1]) / "clip.mp4")
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def start_encoding(tmp_path: Path, out: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-c", ENCODE, str(out)], env=child_env(tmp_path),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "encoding"
    (ffmpeg,) = ffmpeg_children(proc.pid)
    assert [p.name for p in out.iterdir() if durable.PART_MARK in p.name]  # mid-encode: its part is there
    return proc, ffmpeg


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ffmpeg dies with its parent on Linux")
def test_item11_a_render_killed_mid_encode_takes_its_ffmpeg_along_and_its_part_goes_next_start(engine, samples,
                                                                                               tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc, ffmpeg = start_encoding(tmp_path, out)
    proc.kill()
    proc.wait(timeout=10)
    proc.stdout.close()
    killed = time.monotonic()
    while not gone(ffmpeg) and time.monotonic() - killed < 1.0:
        time.sleep(0.01)
    assert gone(ffmpeg), "ffmpeg outlived the render that started it"
    (part,) = out.iterdir()
    time.sleep(0.5)
    # Killed, not left to finish a clip from the frames it had (an ffmpeg that reads end of file
    # on its stdin writes the index, `moov`, and exits cleanly within the second as well).
    assert b"moov" not in part.read_bytes()
    assert not (out / "clip.mp4").exists()  # never a clip under its final name
    time.sleep(1.0)  # past the instant between a writer making its part and holding it
    render(engine, samples / "coffee.jpg", out)  # the next start: nobody holds the part, it goes
    assert sorted(p.name for p in out.iterdir()) == ["coffee.json", "coffee.mp4"]


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM from another process is POSIX")
def test_item11_sigterm_stops_like_ctrl_c_with_nothing_left(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc, ffmpeg = start_encoding(tmp_path, out)
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout.read().strip() == "interrupted"
    proc.stdout.close()
    assert proc.wait(timeout=30) == 130
    assert gone(ffmpeg) and list(out.iterdir()) == []


def test_item11_the_command_line_takes_sigterm_as_ctrl_c(capsys):
    from i2v_desktop.cli import main
    from i2v_desktop.cli.stop import _interrupt

    before = signal.getsignal(signal.SIGTERM)
    try:
        assert main(["presets"]) == 0
        assert signal.getsignal(signal.SIGTERM) is _interrupt
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, before)
    capsys.readouterr()


# -- item 18: exported files name the photo by its file name ------------------------------------


def test_item18_files_for_the_users_folder_name_the_photo_by_file_name_the_historys_by_path(engine, samples,
                                                                                             tmp_path):
    (mine,), _ = render(engine, samples / "coffee.jpg", tmp_path)
    for record in (sidecar(mine.mp4), json.loads(read_mp4_metadata(mine.mp4)[METADATA_KEY])):
        assert record["request"]["image"] == "coffee.jpg"
    private = tmp_path / "history"
    private.mkdir()
    events: list = []
    (kept,) = render_to_files(engine, GenerationRequest(image=str(samples / "coffee.jpg"), **QUICK), private,
                              events.append, CancelToken(), private=True)
    assert sidecar(kept.mp4)["request"]["image"] == str(samples / "coffee.jpg")


def test_item18_an_export_names_the_photo_by_file_name_and_dragged_back_restores_it_through_the_history(
        studio, samples, tmp_path):
    saved = []
    studio.render(GenerationRequest(image=str(samples / "coffee.jpg"), **QUICK), lambda event: None, CancelToken(),
                  saved.append)
    (entry,) = [s.entry for s in saved]
    assert entry.record.photo == str(samples / "coffee.jpg")  # the history keeps the full path
    social = tmp_path / "social"
    report = studio.export_many([ExportJob(entry.mp4, "source", social)], CancelToken())
    (exported,) = report.written
    assert json.loads(read_mp4_metadata(exported)[METADATA_KEY])["request"]["image"] == "coffee.jpg"
    assert json.loads(exported.with_suffix(".json").read_text())["metadata"][METADATA_KEY].count(str(samples)) == 0
    assert read_record(exported).photo == "coffee.jpg"
    # Dragged into the window: the history's entry for the same render knows where the photo is.
    assert studio.read_record(exported).photo == str(samples / "coffee.jpg")
    assert studio.read_record(exported).request().seed == entry.seed


def test_item18_a_clip_dragged_back_finds_its_photo_beside_it_else_keeps_the_name(engine, studio, samples, tmp_path):
    folder = tmp_path / "trip"
    folder.mkdir()
    shutil.copyfile(samples / "coffee.jpg", folder / "coffee.jpg")
    (clip,), _ = render(engine, folder / "coffee.jpg", folder)
    assert studio.read_record(clip.mp4).photo == str((folder / "coffee.jpg").resolve())
    (folder / "coffee.jpg").unlink()
    assert studio.read_record(clip.mp4).photo == "coffee.jpg"  # the window then says the photo is gone


# -- item 19: one way to durable files ---------------------------------------------------------


def test_item19_every_store_and_export_writes_through_core_durable(engine, samples, tmp_path, monkeypatch):
    from i2v_desktop.studio.store import ResultsFile, Store

    synced: list[Path] = []
    real = durable.fsync_folder
    monkeypatch.setattr(durable, "fsync_folder", lambda folder: (synced.append(Path(folder)), real(folder)))
    (clip,), _ = render(engine, samples / "coffee.jpg", tmp_path)
    assert synced.count(tmp_path) >= 2  # the clip's name and its sidecar's
    store = Store(str(tmp_path / "batch"))
    store.make()
    local = tmp_path / "local.txt"
    local.write_text("row")
    synced.clear()
    store.publish(local, "row.txt")
    results = ResultsFile(store, "results.csv")
    results.add("1,coffee\n")
    assert synced == [tmp_path / "batch", tmp_path / "batch"]
    for module in ("export/files.py", "export/mp4.py", "export/social.py", "studio/store.py", "studio/render.py"):
        source = (ROOT / "i2v_desktop" / module).read_text(encoding="utf-8")
        assert "os.fsync" not in source and ".part-" not in source, module
