"""Property-based fuzzing of the command line (issue 14's proof): random option values and flags for
render, export, score, info, presets and batch, and random image and clip inputs (random bytes,
real files cut short, wrong extensions). Whatever comes in: no traceback (printed or logged), a
non-zero exit, and a refusal said in one line.

The suite runs a few examples of each property; scripts/fuzz_cli.py runs the same properties with
many more and prints the counts.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from i2v_desktop.cli import main
from i2v_desktop.core.resources import resource_path

SAMPLES = resource_path("samples")
COMMANDS = ("render", "export", "score", "info", "presets", "batch")


@dataclass
class Tally:
    """What a fuzzing run saw: inputs tried, and each one that ended in a traceback."""

    tried: int = 0
    tracebacks: list[str] = field(default_factory=list)


TALLY = Tally()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.tracebacks: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.tracebacks.append(record)


def outcome(argv: list[str]) -> tuple[int, str, str]:
    """Run `i2v argv` in this process: (exit status, stdout, stderr). A traceback, escaped or
    logged, fails the property (and is counted)."""
    TALLY.tried += 1
    records = _Records()
    logging.getLogger().addHandler(records)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's refusals and --help
                code = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:  # noqa: BLE001 (what the property is about)
        TALLY.tracebacks.append(f"{argv!r}: {type(exc).__name__}: {exc}")
        raise
    finally:
        logging.getLogger().removeHandler(records)
    if records.tracebacks or "Traceback" in err.getvalue():
        TALLY.tracebacks.append(f"{argv!r}: traceback on stderr or in the log")
        raise AssertionError(f"traceback for {argv!r}:\n{err.getvalue()}")
    return code, out.getvalue(), err.getvalue()


def check_refused(argv: list[str]) -> None:
    """The property: a non-zero exit and every refusal in one line (argparse's and the command's
    own: `i2v…: reason`; a render's or an export's summary names each input on one line)."""
    code, _out, err = outcome(argv)
    assert code != 0, f"{argv!r} exited 0:\n{err}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, f"{argv!r}: refused without a word"
    if code == 2:  # refused before any work: exactly one line
        assert len(lines) == 1, f"{argv!r}: more than one line:\n{err}"


# -- inputs ----------------------------------------------------------------------------------------


def _real_clip() -> Path:
    """A real 1 s clip of our own (made once per process, kept in a temporary folder)."""
    folder = Path(tempfile.mkdtemp(prefix="i2v-fuzz-"))
    code, _, err = outcome(["render", str(SAMPLES / "coffee.jpg"), "--model", "instant", "--duration", "1",
                            "--quality", "draft", "--aspect", "1:1", "--out", str(folder)])
    TALLY.tried -= 1  # making the fixture is no fuzzing input
    assert code == 0, err
    return folder / "coffee.mp4"


_clip: Path | None = None


def real_clip() -> Path:
    global _clip
    if _clip is None:
        _clip = _real_clip()
    return _clip


EXTENSIONS = (".mp4", ".mov", ".jpg", ".png", ".gif", ".txt", "", ".MP4", ".webp", ".mkv")

numbers = st.one_of(
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "-inf", "1e309", "0x10", "", " ", "½", "1_000", "--", "-0", "0.0001", "12abc"]),
)
words = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@st.composite
def bad_file(draw, kind: str) -> Path:
    """A file that is no good as `kind` ("photo" or "clip"): random bytes, a real file cut short,
    a picture where a clip is wanted, or a folder, under a random extension."""
    folder = Path(tempfile.mkdtemp(prefix="i2v-fuzz-in-"))
    how = draw(st.sampled_from(["bytes", "cut", "other", "folder", "missing", "empty"]))
    path = folder / f"input{draw(st.sampled_from(EXTENSIONS))}"
    if how == "bytes":
        path.write_bytes(draw(st.binary(min_size=1, max_size=4096)))
    elif how == "cut":
        source = SAMPLES / "coffee.jpg" if kind == "photo" else real_clip()
        data = source.read_bytes()
        share = draw(st.floats(0.0, 0.97))
        path.write_bytes(data[: max(1, int(len(data) * share))])
    elif how == "other":  # the other kind of file: a clip as a photo, a photo as a clip
        source = real_clip() if kind == "photo" else SAMPLES / draw(st.sampled_from(["coffee.jpg", "rocket.jpg"]))
        path.write_bytes(source.read_bytes())
    elif how == "folder":
        path.mkdir()
    elif how == "empty":
        path.write_bytes(b"")
    return path


def options(names: dict[str, st.SearchStrategy]) -> st.SearchStrategy[list[str]]:
    """Any subset of `names`, each with a drawn value (flags: None), in any order."""

    @st.composite
    def build(draw):
        chosen = draw(st.lists(st.sampled_from(sorted(names)), unique=True, max_size=len(names)))
        argv = []
        for name in chosen:
            argv.append(name)
            value = names[name]
            if value is not None:
                argv.append(draw(value))
        return argv

    return build()


CLIP_OPTIONS = {
    "--preset": st.one_of(st.sampled_from(["orbit", "push-in", "static", "wind", "nope"]), words),
    "--intensity": numbers, "--duration": numbers, "--fps": numbers,
    "--aspect": st.one_of(st.sampled_from(["source", "9:16", "1:1", "16:9", "4:3"]), words),
    "--quality": st.sampled_from(["draft", "standard", "final", "fast", "best"]),
    "--prompt": words, "--variants": numbers,
    "--model": st.sampled_from(["instant", "nope", "wan2.2-ti2v-5b", "svd-xt", "./no/such/folder"]),
    "--loop": None, "--sound": None, "--crf": numbers,
    "--speed": st.sampled_from(["auto", "off", "max"]), "--offload": st.sampled_from(["auto", "none", "x"]),
    "--export": st.sampled_from(["reels", "source", "myspace"]),
}
RENDER_OPTIONS = {**CLIP_OPTIONS, "--seed": numbers, "--steps": numbers, "--guidance": numbers,
                  "--negative-prompt": words, "--motion-prompt": words}
EXPORT_OPTIONS = {"--preset": st.sampled_from(["reels", "source", "gif", "nope"]), "--fps": numbers,
                  "--duration": numbers, "--loop": None, "--fill": st.sampled_from(["frame", "blur", "x"]),
                  "--extend": st.sampled_from(["repeat", "boomerang", "x"]), "--match-colour": None}
SCORE_OPTIONS = {"--loop": None, "--json": None}
BATCH_OPTIONS = {**CLIP_OPTIONS, "--workers": numbers}


# -- the properties (the script runs the same ones with more examples) -----------------------------


def render_arguments(argv: list[str], photo: Path) -> None:
    with tempfile.TemporaryDirectory() as out:
        check_refused(["render", str(photo), *argv, "--out", out])


def render_inputs(photo: Path) -> None:
    with tempfile.TemporaryDirectory() as out:
        check_refused(["render", str(photo), "--model", "instant", "--duration", "0.5", "--quality", "draft",
                       "--aspect", "1:1", "--out", out])


def export_arguments(argv: list[str], clip: Path) -> None:
    with tempfile.TemporaryDirectory() as out:
        check_refused(["export", str(clip), *argv, "--out", out])


def clip_inputs(command: str, argv: list[str], clip: Path) -> None:
    extra = ["--source", str(SAMPLES / "coffee.jpg")] if command == "score" else []
    if command == "export":
        with tempfile.TemporaryDirectory() as out:
            check_refused(["export", str(clip), "--preset", "source", "--out", out])
    else:
        check_refused([command, str(clip), *extra, *argv])


def presets_arguments(argv: list[str]) -> None:
    code, _out, err = outcome(["presets", *argv])
    # `i2v presets` takes nothing: with no extra words it lists (exit 0), else one line, status 2.
    assert (code == 0 and err == "") if not argv else (code == 2 and len(err.strip().splitlines()) == 1)


def batch_arguments(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        manifest = Path(folder) / "rows.csv"
        manifest.write_text("photo\n/no/such/photo.jpg\n")
        check_refused(["batch", str(manifest), *argv, "--out", str(Path(folder) / "out")])


def any_command(command: str, argv: list[str]) -> None:
    """A command with random words after it: whatever they are, no traceback."""
    code, _out, err = outcome([command, *argv])
    if code != 0:
        assert err.strip(), f"{command} {argv!r}: refused without a word"


# -- the suite's share ---------------------------------------------------------------------------

FEW = settings(max_examples=int(os.environ.get("I2V_FUZZ_EXAMPLES", "20")), deadline=None, database=None,
               derandomize=True, suppress_health_check=list(HealthCheck))
MISSING_PHOTO = Path("/no/such/folder/photo.jpg")


@FEW
@given(options(RENDER_OPTIONS))
def test_fuzz_render_arguments(argv):
    render_arguments(argv, MISSING_PHOTO)


@FEW
@given(bad_file("photo"))
def test_fuzz_render_image_inputs(photo):
    render_inputs(photo)


@FEW
@given(options(EXPORT_OPTIONS))
def test_fuzz_export_arguments(argv):
    export_arguments(argv, MISSING_PHOTO.with_suffix(".mp4"))


@FEW
@given(st.sampled_from(["score", "info", "export"]), options(SCORE_OPTIONS), bad_file("clip"))
def test_fuzz_clip_inputs(command, argv, clip):
    clip_inputs(command, argv if command == "score" else [], clip)


@FEW
@given(st.lists(words, max_size=3))
def test_fuzz_presets_arguments(argv):
    presets_arguments(argv)


@settings(FEW, max_examples=3)
@given(options(BATCH_OPTIONS))
def test_fuzz_batch_arguments(argv):
    batch_arguments(argv)


@FEW
@given(st.sampled_from(COMMANDS), st.lists(st.one_of(words, numbers, st.sampled_from(
    ["--fps", "--crf", "--json", "--loop", "--out", "--preset", "-", "--", "--help=x"])), max_size=4))
def test_fuzz_any_words_after_any_command(command, argv):
    any_command(command, argv)


@pytest.fixture(autouse=True, scope="module")
def _no_tracebacks_at_all():
    yield
    assert TALLY.tracebacks == []
