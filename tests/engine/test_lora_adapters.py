"""Camera and user LoRAs as adapters, on tiny pipelines with tiny LoRA files in the real key layouts.

The invariant: with every speed feature off, a job with LoRAs renders the frames of the plain
diffusers call after `pipe.load_lora_weights(file, adapter_name=...)` and
`pipe.set_adapters([...], [strengths])`, same inputs and seed; a job without LoRAs, those of a
pipeline that never saw one. Layouts (bench/tiny_loras.py): an LTX-2 camera LoRA as Lightricks
publishes them, through the preset's camera-LoRA path; a Kohya/musubi Wan LoRA; a diffusers PEFT
Wan LoRA; and a high/low pair on Wan2.2 A14B's two experts.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pytest

from i2v_desktop.bench.cpu import plain_args
from i2v_desktop.bench.tiny import build_tiny_pipeline, save_tiny_pipeline
from i2v_desktop.bench.tiny_loras import ltx2_camera_lora, musubi_wan_lora, peft_lora, save_lora
from i2v_desktop.bench.tiny_registry import FAKE_REVISION, TINY_ENTRY, tiny_registry
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import ModelError
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest, LoraUse
from i2v_desktop.engine import diffusion
from i2v_desktop.engine.diffusion import DiffusionEngine
from i2v_desktop.engine.lora import MULTIPLE_ADAPTERS, adapters_in
from i2v_desktop.engine.lorafiles import file_sha256
from i2v_desktop.engine.registry import LoraFile, LoraSet, Registry, Tier

KINDS = ("wan2.1-i2v", "wan2.2-i2v-a14b", "ltx2")
CAMERA_REPO = "tiny-org/ltx2-camera-loras"
CAMERA_ID = "ltx2-dolly-in"
FAST_REPO = "tiny-org/fast-loras"
TOLERANCE = 1e-5


@dataclass(frozen=True)
class CameraLoraEntry:
    """A registry's camera LoRA, as the engine reads it."""

    id: str
    name: str
    base: tuple[str, ...]
    repo: str
    revision: str
    file: str
    trigger: str = ""


@dataclass(frozen=True)
class CameraRegistry(Registry):
    cameras: Mapping[str, CameraLoraEntry] = field(default_factory=dict)

    def camera_lora(self, lora_id: str) -> CameraLoraEntry:
        try:
            return self.cameras[lora_id]
        except KeyError:
            raise ModelError(f"unknown camera LoRA {lora_id!r}") from None


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-adapters")
    return {kind: save_tiny_pipeline(kind, root / kind) for kind in KINDS}


@pytest.fixture(scope="module")
def files(folders, tmp_path_factory) -> dict[str, Path]:
    """The user's LoRA files in a folder of theirs, and the camera LoRA in the download cache."""
    from huggingface_hub import constants

    root = tmp_path_factory.mktemp("loras")
    wan = build_tiny_pipeline("wan2.1-i2v")
    a14b = build_tiny_pipeline("wan2.2-i2v-a14b")
    ltx2 = build_tiny_pipeline("ltx2")
    made = {
        "musubi": save_lora(musubi_wan_lora(wan.transformer, seed=1), root / "musubi_style.safetensors"),
        "peft": save_lora(peft_lora(wan.transformer, seed=2), root / "peft_motion.safetensors"),
        "high": save_lora(musubi_wan_lora(a14b.transformer, seed=3), root / "orbit_high_noise.safetensors"),
        "low": save_lora(peft_lora(a14b.transformer_2, seed=4), root / "orbit_low_noise.safetensors"),
        "ltx2-user": save_lora(peft_lora(ltx2.transformer, seed=6), root / "ltx2_style.safetensors"),
    }
    wide = build_tiny_pipeline("wan2.1-i2v")
    wide.transformer = type(wan.transformer).from_config({**wan.transformer.config,
                                                          "attention_head_dim": 2 * wan.transformer.config.attention_head_dim})
    made["wide"] = save_lora(peft_lora(wide.transformer, seed=5), root / "wide_model.safetensors")
    snapshot = Path(constants.HF_HUB_CACHE) / f"models--{CAMERA_REPO.replace('/', '--')}" / "snapshots" / FAKE_REVISION
    made["camera"] = save_lora(ltx2_camera_lora(ltx2.transformer, seed=7), snapshot / "dolly-in.safetensors")
    fast = Path(constants.HF_HUB_CACHE) / f"models--{FAST_REPO.replace('/', '--')}" / "snapshots" / FAKE_REVISION
    made["fast"] = save_lora(peft_lora(wan.transformer, seed=8), fast / "fast_4step.safetensors")
    yield made
    shutil.rmtree(snapshot.parent.parent)
    shutil.rmtree(fast.parent.parent)


@pytest.fixture(scope="module")
def registry(folders, files) -> CameraRegistry:
    tiny = tiny_registry(folders)
    camera = CameraLoraEntry(CAMERA_ID, "LTX-2 Dolly In", (TINY_ENTRY["ltx2"],), CAMERA_REPO, FAKE_REVISION,
                             "dolly-in.safetensors", trigger="dolly in")
    missing = CameraLoraEntry("ltx2-jib-up", "LTX-2 Jib Up", (TINY_ENTRY["ltx2"],), CAMERA_REPO, FAKE_REVISION,
                              "jib-up.safetensors")
    # Wan2.1 I2V with a fast tier whose step-distilled LoRA is a tiny file in the download cache
    # (at the model's own shift, so the plain call's scheduler is the pipeline's own).
    wan = tiny.get(TINY_ENTRY["wan2.1-i2v"])
    lora = LoraSet("tiny-4step", "Apache-2.0", (LoraFile(FAST_REPO, FAKE_REVISION, "fast_4step.safetensors", 0.01,
                                                         "transformer"),))
    fast = replace(wan, id="tiny-fast", tiers=MappingProxyType({**wan.tiers, "fast": Tier("tiny", 2, 1.0)}),
                   lora=lora)
    entries = MappingProxyType({**tiny.entries, fast.id: fast})
    return CameraRegistry(entries, tiny.default, cameras=MappingProxyType({CAMERA_ID: camera,
                                                                                "ltx2-jib-up": missing}))


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    """The built-in presets, with push-in, tilt-up and pull-out naming camera LoRAs on LTX-2 (tilt-up's
    not downloaded, pull-out's unknown to the registry)."""
    from i2v_desktop.core.presets import builtin_preset_dir

    folder = tmp_path_factory.mktemp("presets")
    for preset, lora in (("push-in", {"id": CAMERA_ID, "strength": 0.7}), ("tilt-up", {"id": "ltx2-jib-up"}),
                         ("pull-out", {"id": "ltx2-unknown"})):
        data = json.loads((builtin_preset_dir() / f"{preset}.json").read_text())
        data["families"]["ltx2"]["lora"] = lora
        (folder / f"{preset}.json").write_text(json.dumps(data))
    library = load_presets(folder)
    assert not library.problems
    return library


@pytest.fixture(scope="module")
def engine(registry, presets):
    # Every speed switch off: the invariant is stated for the plain engine.
    made = DiffusionEngine(registry, presets, device="cpu", speed="off")
    yield made
    made.close()


def use(path: Path, strength: float = 1.0, expert: str = "both") -> LoraUse:
    return LoraUse(str(path), file_sha256(path), strength, expert)


def request_for(kind: str, photo: str, **over) -> GenerationRequest:
    fields = dict(image=photo, model=TINY_ENTRY[kind], preset="orbit", duration=1.0, seed=11, steps=3,
                  prompt="a red kite over a windy beach")
    return GenerationRequest(**{**fields, **over})


def render(engine: DiffusionEngine, request: GenerationRequest, monkeypatch):
    """The clip, and the float frames the pipeline returned to the engine."""
    returned = []
    to_uint8 = diffusion._to_uint8
    monkeypatch.setattr(diffusion, "_to_uint8", lambda frames: returned.append(np.array(frames)) or to_uint8(frames))
    clip = engine.generate(request, lambda event: None, CancelToken())
    monkeypatch.setattr(diffusion, "_to_uint8", to_uint8)
    return clip, returned[0]


def plain(engine, registry, folders, request, loras=(), weights=()) -> np.ndarray:
    """The plain diffusers call: a freshly loaded pipeline, `load_lora_weights` per file (name,
    path, into transformer_2), `set_adapters` with the strengths, the engine's inputs and seed."""
    import diffusers

    entry = registry.get(request.model)
    kind = next(k for k, folder in folders.items() if entry.local_path == str(folder))
    pipe = getattr(diffusers, entry.pipeline).from_pretrained(folders[kind])
    pipe.set_progress_bar_config(disable=True)
    for name, path, second in loras:
        with warnings.catch_warnings():  # peft's warning that a model now holds several adapters
            warnings.filterwarnings("ignore", MULTIPLE_ADAPTERS, UserWarning)
            pipe.load_lora_weights(str(path), adapter_name=name,
                                   **({"load_into_transformer_2": True} if second else {}))
    if loras:
        pipe.set_adapters(list(dict.fromkeys(name for name, _, _ in loras)), list(weights))
    return np.asarray(pipe(**plain_args(engine, entry, request)).frames[0], dtype=np.float32)


def assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    assert float(np.abs(ours - theirs).max()) <= TOLERANCE


# -- equivalence ------------------------------------------------------------------------------


def test_the_ltx2_camera_lora_through_the_preset_renders_the_plain_call(engine, registry, folders, files, photo,
                                                                        monkeypatch):
    request = request_for("ltx2", photo, preset="push-in")
    clip, ours = render(engine, request, monkeypatch)
    assert adapters_in(engine._pipe) == {f"camera-{CAMERA_ID}": {"transformer"}}
    assert clip.info.prompt.startswith("a red kite over a windy beach. dolly in. The camera")
    assert "push-in" not in clip.info.prompt
    assert clip.info.loras == ({"camera": CAMERA_ID, "name": "LTX-2 Dolly In", "strength": 0.7},)
    assert json.loads(json.dumps(clip.info.to_dict()))["loras"] == [dict(clip.info.loras[0])]  # into the record
    assert "Push in: the LTX-2 Dolly In camera LoRA at strength 0.7" in clip.info.notes
    assert_same(ours, plain(engine, registry, folders, request, [("camera", files["camera"], False)], [0.7]))

    # The request's own strength wins over the preset's; 0 turns it off: the prompt words alone.
    stronger, ours = render(engine, request_for("ltx2", photo, preset="push-in", camera_lora=1.3), monkeypatch)
    assert stronger.info.loras[0]["strength"] == 1.3
    assert_same(ours, plain(engine, registry, folders, request, [("camera", files["camera"], False)], [1.3]))
    off, ours = render(engine, request_for("ltx2", photo, preset="push-in", camera_lora=0), monkeypatch)
    assert off.info.loras == () and "dolly in" not in off.info.prompt
    assert "Push in: the LTX-2 Dolly In camera LoRA is turned off: prompt words only" in off.info.notes
    assert_same(ours, plain(engine, registry, folders, request_for("ltx2", photo, preset="push-in", camera_lora=0)))


def test_a_camera_lora_not_downloaded_or_unknown_leaves_the_prompt_words_and_says_so(engine, photo, monkeypatch):
    clip, _ = render(engine, request_for("ltx2", photo, preset="tilt-up"), monkeypatch)
    assert clip.info.loras == ()
    note = next(n for n in clip.info.notes if "Jib Up" in n)
    assert note == (f"Tilt up: the LTX-2 Jib Up camera LoRA is not downloaded (the Models page, or "
                    f"`i2v download {TINY_ENTRY['ltx2']}`): prompt words only")
    clip, _ = render(engine, request_for("ltx2", photo, preset="pull-out"), monkeypatch)
    assert clip.info.loras == ()
    assert "Pull out: the camera LoRA 'ltx2-unknown' is not in the model registry: prompt words only" in clip.info.notes


def test_a_user_lora_and_a_camera_lora_combine_on_ltx2(engine, registry, folders, files, photo, monkeypatch):
    request = request_for("ltx2", photo, preset="push-in", loras=(use(files["ltx2-user"], 0.5),))
    clip, ours = render(engine, request, monkeypatch)
    assert [r.get("camera") or r["file"] for r in clip.info.loras] == [CAMERA_ID, "ltx2_style.safetensors"]
    expected = plain(engine, registry, folders, request,
                     [("camera", files["camera"], False), ("style", files["ltx2-user"], False)], [0.7, 0.5])
    assert_same(ours, expected)


@pytest.mark.parametrize("layout", ["musubi", "peft"])
def test_a_wan_lora_in_each_layout_renders_the_plain_call_at_its_strength(layout, engine, registry, folders, files,
                                                                          photo, monkeypatch):
    request = request_for("wan2.1-i2v", photo, loras=(use(files[layout], 0.7),))
    clip, ours = render(engine, request, monkeypatch)
    sha = file_sha256(files[layout])
    assert f"user-{sha[:12]}-both" in adapters_in(engine._pipe)
    assert clip.info.loras == ({"file": files[layout].name, "sha256": sha, "strength": 0.7, "expert": "both"},)
    assert_same(ours, plain(engine, registry, folders, request, [("mine", files[layout], False)], [0.7]))


def test_two_wan_loras_combine_and_a_job_without_them_is_a_bare_pipelines(engine, registry, folders, files, photo,
                                                                         monkeypatch):
    both = request_for("wan2.1-i2v", photo, loras=(use(files["musubi"], 0.7), use(files["peft"], -0.4)))
    _, ours = render(engine, both, monkeypatch)
    expected = plain(engine, registry, folders, both,
                     [("a", files["musubi"], False), ("b", files["peft"], False)], [0.7, -0.4])
    assert_same(ours, expected)
    bare = plain(engine, registry, folders, request_for("wan2.1-i2v", photo))
    with_lora, _ = render(engine, request_for("wan2.1-i2v", photo, loras=(use(files["peft"]),)), monkeypatch)
    # No LoRAs after jobs with them: exactly the frames of a pipeline that never saw one.
    clip, ours = render(engine, request_for("wan2.1-i2v", photo), monkeypatch)
    np.testing.assert_array_equal(ours, bare)
    assert clip.info.loras == () and not np.array_equal(clip.frames, with_lora.frames)
    # Strength 0: left out, with a note; the same frames.
    zero = request_for("wan2.1-i2v", photo, loras=(use(files["musubi"], 0.0),))
    clip, ours = render(engine, zero, monkeypatch)
    np.testing.assert_array_equal(ours, bare)
    assert "musubi_style.safetensors at strength 0: left out" in clip.info.notes
    assert len(adapters_in(engine._pipe)) == 2  # still loaded, for the next job that wants them


def test_a_high_and_low_pair_lands_one_per_expert_on_wan22_a14b(engine, registry, folders, files, photo,
                                                                 monkeypatch):
    request = request_for("wan2.2-i2v-a14b", photo, loras=(use(files["high"], 0.8, "high"),
                                                           use(files["low"], 0.6, "low")))
    clip, ours = render(engine, request, monkeypatch)
    high, low = (f"user-{file_sha256(files[k])[:12]}-{k}" for k in ("high", "low"))
    assert adapters_in(engine._pipe) == {high: {"transformer"}, low: {"transformer_2"}}
    assert [r["expert"] for r in clip.info.loras] == ["high", "low"]
    expected = plain(engine, registry, folders, request,
                     [("high", files["high"], False), ("low", files["low"], True)], [0.8, 0.6])
    assert_same(ours, expected)

    # "both": one file into each expert; only the high one's adapter: the low expert runs bare.
    request = request_for("wan2.2-i2v-a14b", photo, loras=(use(files["high"], 0.8, "both"),))
    _, ours = render(engine, request, monkeypatch)
    both = f"user-{file_sha256(files['high'])[:12]}-both"
    assert adapters_in(engine._pipe)[both] == {"transformer", "transformer_2"}
    expected = plain(engine, registry, folders, request,
                     [("h", files["high"], False), ("h", files["high"], True)], [0.8])
    assert_same(ours, expected)
    _, ours = render(engine, request_for("wan2.2-i2v-a14b", photo, loras=(use(files["high"], 0.8, "high"),)),
                     monkeypatch)
    expected = plain(engine, registry, folders, request, [("h", files["high"], False)], [0.8])
    assert_same(ours, expected)


def test_the_fast_tiers_lora_combines_with_a_users_and_is_off_for_other_tiers(engine, registry, folders, files,
                                                                               photo, monkeypatch):
    mine = use(files["peft"], 0.7)
    fast = request_for("wan2.1-i2v", photo, model="tiny-fast", quality="fast", steps=None, loras=(mine,))
    clip, ours = render(engine, fast, monkeypatch)
    assert clip.info.steps == 2 and clip.info.guidance == 1.0
    assert adapters_in(engine._pipe)["fast"] == {"transformer"}
    expected = plain(engine, registry, folders, fast, [("mine", files["peft"], False), ("fast", files["fast"], False)],
                     [0.7, 1.0])
    assert_same(ours, expected)
    # The same model at another tier: the user's LoRA alone, the fast one off.
    standard = request_for("wan2.1-i2v", photo, model="tiny-fast", loras=(mine,))
    _, ours = render(engine, standard, monkeypatch)
    assert_same(ours, plain(engine, registry, folders, standard, [("mine", files["peft"], False)], [0.7]))


# -- refusals ---------------------------------------------------------------------------------


def refused(engine, request) -> str:
    with pytest.raises(ModelError) as error:
        engine.generate(request, lambda event: None, CancelToken())
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_mismatched_lora_is_refused_in_one_line_and_the_pipeline_stays_clean(engine, registry, folders, files,
                                                                              photo, monkeypatch):
    render(engine, request_for("wan2.1-i2v", photo), monkeypatch)  # this model's pipeline, loaded
    before = adapters_in(engine._pipe)
    message = refused(engine, request_for("wan2.1-i2v", photo, loras=(use(files["wide"]),)))
    entry = registry.get(TINY_ENTRY["wan2.1-i2v"])
    assert message == f"wide_model.safetensors: made for Wan, 48-wide, 2 blocks; {entry.name} is 24-wide with 2 blocks"
    assert adapters_in(engine._pipe) == before
    _, ours = render(engine, request_for("wan2.1-i2v", photo), monkeypatch)
    np.testing.assert_array_equal(ours, plain(engine, registry, folders, request_for("wan2.1-i2v", photo)))


def test_a_lora_file_gone_or_changed_since_the_take_is_refused_in_one_line(engine, files, photo, tmp_path):
    path = tmp_path / "kept.safetensors"
    shutil.copy(files["peft"], path)
    take = use(path, 0.7)
    path.unlink()
    message = refused(engine, request_for("wan2.1-i2v", photo, loras=(take,)))
    assert message == (f"kept.safetensors: the LoRA file this take used is gone ({path}, sha256 {take.sha256[:8]}…): "
                       f"put it back to render it again")
    shutil.copy(files["musubi"], path)  # another file under the same name
    message = refused(engine, request_for("wan2.1-i2v", photo, loras=(take,)))
    assert message.startswith(f"kept.safetensors: the LoRA file has changed since this take ({path}, "
                              f"sha256 {take.sha256[:8]}… then, {file_sha256(path)[:8]}… now)")


def test_a_lora_that_does_not_load_names_the_file_and_model_and_leaves_nothing_behind(engine, registry, files,
                                                                                      photo, tmp_path):
    path = tmp_path / "cut_short.safetensors"
    data = files["peft"].read_bytes()
    path.write_bytes(data[: len(data) - 64])  # its header intact, its last tensor cut off
    message = refused(engine, request_for("wan2.1-i2v", photo, loras=(use(path),)))
    entry = registry.get(TINY_ENTRY["wan2.1-i2v"])
    assert message.startswith(f"cut_short.safetensors: cannot load it into {entry.name} (")
    assert not any(name.startswith(f"user-{file_sha256(path)[:12]}") for name in adapters_in(engine._pipe))


def test_a_model_without_a_lora_loader_refuses_user_loras_naming_it(presets, files, photo, tmp_path):
    from i2v_desktop.core.errors import RequestError
    from i2v_desktop.engine.registry import load_registry

    svd = load_registry().get("svd-xt")
    engine = DiffusionEngine(Registry(MappingProxyType({svd.id: svd}), svd.id), presets, device="cpu")
    with pytest.raises(RequestError) as error:
        engine.generate(GenerationRequest(image=photo, model="svd-xt", loras=(use(files["peft"]),)),
                        lambda event: None, CancelToken())
    assert str(error.value) == ("Stable Video Diffusion XT takes no LoRAs (diffusers has no LoRA loader for its "
                                "family): render without peft_motion.safetensors, or choose a Wan or LTX model")
    assert engine._pipe is None  # refused before anything loaded


def test_adapters_a_job_does_not_use_are_dropped_to_make_room_and_reload_when_wanted(engine, registry, folders,
                                                                                     files, photo, monkeypatch):
    from i2v_desktop.engine import lora

    monkeypatch.setattr(lora, "KEPT_ADAPTERS", 1)
    musubi, peft = use(files["musubi"], 0.7), use(files["peft"], 0.7)
    render(engine, request_for("wan2.1-i2v", photo, loras=(musubi,)), monkeypatch)
    render(engine, request_for("wan2.1-i2v", photo, loras=(peft,)), monkeypatch)
    users = {name for name in adapters_in(engine._pipe) if name.startswith("user-")}
    assert users == {f"user-{peft.sha256[:12]}-both"}  # the musubi one made room
    request = request_for("wan2.1-i2v", photo, loras=(musubi,))
    _, ours = render(engine, request, monkeypatch)
    assert_same(ours, plain(engine, registry, folders, request, [("m", files["musubi"], False)], [0.7]))
