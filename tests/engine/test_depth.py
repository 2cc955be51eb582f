"""The instant engine's optional depth model: an add-on of the registry (listed, downloaded and
removed like a model, never offered to render with), loaded by the code users run from a tiny
random-weight Depth Anything V2 of the real architecture served by the local fake hub, and the
depth-warped camera move on a synthetic scene whose depth is known: the near plane must move more
than the far one, and at rest the layers must give the photo back."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import fakehub
from PIL import Image

from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import ModelError, RequestError
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.resources import resource_path
from i2v_desktop.core.studio import NOT_DOWNLOADED, READY
from i2v_desktop.engine import depth
from i2v_desktop.engine.fetch import download
from i2v_desktop.engine.hub import local_state, remove
from i2v_desktop.engine.instant import InstantEngine
from i2v_desktop.engine.plan import check_request
from i2v_desktop.engine.registry import load_registry

fake_hub = fakehub.fake_hub  # the fixture
ENGINE = InstantEngine()
SAMPLES = resource_path("samples")


def tiny_depth_model(folder: Path) -> Path:
    """Depth Anything V2's architecture (a DINOv2 backbone, the DPT neck and the relative-depth
    head) at a few thousand weights, with its image processor, saved as the hub's repo has them."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config
    from transformers.models.dpt.image_processing_pil_dpt import DPTImageProcessorPil

    backbone = Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                            image_size=56, patch_size=14, out_indices=[1, 2, 3, 4], reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=32,
                                 neck_hidden_sizes=[8, 16, 32, 32],
                                 fusion_hidden_size=16, head_hidden_size=8, patch_size=14)
    torch.manual_seed(0)
    DepthAnythingForDepthEstimation(config).save_pretrained(folder)
    DPTImageProcessorPil(size={"height": 518, "width": 518}, keep_aspect_ratio=True, ensure_multiple_of=14,
                         do_pad=False, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
                         resample=3).save_pretrained(folder)
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n")
    (folder / "pytorch_model.bin").write_bytes(b"pickled weights: never fetched")
    return folder


@pytest.fixture
def served(fake_hub, tmp_path):
    """The registry's depth add-on served by the fake hub at its pinned revision; the test's cache is empty."""
    entry = load_registry().addons[depth.DEPTH_MODEL]
    fake_hub.add(entry.repo, tiny_depth_model(tmp_path / "repo"))
    fake_hub.repos[entry.repo].commit = entry.revision
    return entry


def test_the_depth_model_is_an_add_on_listed_but_never_offered_to_render_with():
    registry = load_registry()
    entry = registry.addons[depth.DEPTH_MODEL]
    assert entry.id not in registry.models and registry.listed[entry.id] is entry
    assert registry.resolve(entry.id) is entry  # `i2v download depth-anything-v2-small`
    assert (entry.engine, entry.licence) == ("depth", "Apache-2.0")
    assert entry.repo == "depth-anything/Depth-Anything-V2-Small-hf"
    assert entry.revision and len(entry.revision) == 40 and 0 < entry.download_gb < 0.2
    request = GenerationRequest(image="photo.jpg", model=entry.id)
    with pytest.raises(RequestError, match=r"^Depth Anything V2 Small is an add-on of the instant engine, not a"):
        check_request(entry, request)


def test_an_add_on_without_a_repo_or_of_an_unknown_kind_is_refused_in_one_line(tmp_path):
    from i2v_desktop.engine.registry import registry_file

    data = json.loads(registry_file().read_text())
    data["addons"][0]["engine"] = "upscale"
    path = tmp_path / "models.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match=r"models.json: add-on 'depth-anything-v2-small': engine must be one of"):
        load_registry(path)


def test_download_load_estimate_and_remove_through_the_code_users_run(served, fake_hub):
    assert local_state(served).state == NOT_DOWNLOADED and depth.estimator(served) is None
    download(served, lambda transfer: None, CancelToken())
    assert local_state(served).state == READY
    folder = depth.model_folder(served)
    assert folder is not None and sorted(p.name for p in folder.iterdir()) == \
        ["config.json", "model.safetensors", "preprocessor_config.json"]  # no pickles, no model card
    estimate = depth.estimator(served)
    rgb = np.random.default_rng(0).integers(0, 256, (720, 405, 3), dtype=np.uint8)
    raw = estimate(rgb)
    # The model's input is WORK_LONG on the long side, in whole patches, at the photo's shape.
    assert raw.shape == (depth.WORK_LONG, round(405 / 720 * depth.WORK_LONG / 14) * 14)
    assert np.isfinite(raw).all() and raw.dtype == np.float32
    assert remove(served, []) > 90_000
    assert local_state(served).state == NOT_DOWNLOADED and depth.estimator(served) is None


def test_the_studio_lists_downloads_and_removes_the_add_on_but_never_offers_it(served, fake_hub):
    from i2v_desktop.studio.local import user_studio

    studio, _ = user_studio(open_history=False)
    try:
        assert depth.DEPTH_MODEL not in [choice.id for choice in studio.models(look=False)]
        assert depth.DEPTH_MODEL not in [choice.id for choice in studio.machine().models]
        info = {info.id: info for info in studio.model_infos()}[depth.DEPTH_MODEL]
        assert (info.state, info.download_gb, info.licence, info.fit.reason) == \
            (NOT_DOWNLOADED, 0.1, "Apache-2.0", "runs on the processor: no GPU needed")
        seen = []
        studio.download(depth.DEPTH_MODEL, seen.append, CancelToken())
        assert seen[-1].done_bytes == seen[-1].total_bytes > 90_000
        info = {info.id: info for info in studio.model_infos()}[depth.DEPTH_MODEL]
        assert info.state == READY and info.disk_bytes > 90_000 and studio.model(depth.DEPTH_MODEL).installed
        assert studio.remove(depth.DEPTH_MODEL) > 90_000
        assert {info.id: info for info in studio.model_infos()}[depth.DEPTH_MODEL].state == NOT_DOWNLOADED
    finally:
        studio.close()


def test_a_flat_scene_uses_the_downloaded_depth_model_and_says_so(served, fake_hub):
    request = GenerationRequest(image=str(SAMPLES / "chelsea.jpg"), preset="push-in", duration=0.5, fps=12,
                                quality="draft", aspect="9:16", seed=1)
    plain = ENGINE.run(request, lambda event: None, CancelToken())
    assert not any(note.startswith("depth") for note in plain.info.notes)  # not downloaded: as before
    download(served, lambda transfer: None, CancelToken())
    plan, scene = ENGINE.prepare(request)
    assert not scene.matte.any()  # the cat: no subject cut out, the case depth is for
    deep = ENGINE.run(request, lambda event: None, CancelToken())
    assert [note for note in deep.info.notes if note.startswith("depth")] == [plan.notes[-1]]
    assert plan.notes[-1].startswith("depth (Depth Anything V2 Small): ")
    # A preset that moves nothing a depth could show (wind) is left alone, model or not.
    windy = ENGINE.run(replace(request, preset="wind"), lambda event: None, CancelToken())
    assert not any(note.startswith("depth") for note in windy.info.notes)


def test_a_damaged_download_leaves_the_clip_as_one_layer_with_a_note_and_never_fails_it(served, fake_hub):
    download(served, lambda transfer: None, CancelToken())
    weights = depth.model_folder(served) / "model.safetensors"
    weights.resolve().write_bytes(b"not safetensors")  # the cached blob, as a disk error might leave it
    request = GenerationRequest(image=str(SAMPLES / "chelsea.jpg"), preset="pan-left", duration=0.5, fps=12,
                                quality="draft", aspect="9:16", seed=1)
    clip = ENGINE.run(request, lambda event: None, CancelToken())
    note = next(note for note in clip.info.notes if note.startswith("depth"))
    assert note.startswith("depth (Depth Anything V2 Small) could not be used (") and "download it again" in note
    assert len(note.splitlines()) == 1 and clip.frames.shape[0] == 6


def test_without_the_model_a_flat_scene_imports_neither_torch_nor_transformers_nor_the_hubs_client(tmp_path):
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from i2v_desktop.core.cancel import CancelToken\n"
        "from i2v_desktop.core.request import GenerationRequest\n"
        "from i2v_desktop.engine.instant import InstantEngine\n"
        f"request = GenerationRequest(image={str(SAMPLES / 'chelsea.jpg')!r}, preset='push-in', duration=0.5, "
        "fps=12, quality='draft', aspect='9:16')\n"
        "plan, scene = InstantEngine().prepare(request)\n"
        "assert not scene.matte.any() and not plan.notes\n"
        "print(sorted(m for m in ('torch', 'transformers', 'huggingface_hub.hf_api') if m in sys.modules))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- the warp, on a scene of known depth ---------------------------------------------------------


@pytest.fixture(scope="module")
def two_planes(tmp_path_factory) -> Path:
    """A far wall (blue, textured) with a near board (red, textured) in front of its lower middle."""
    rng = np.random.default_rng(4)
    h, w = 960, 720
    texture = cv2.GaussianBlur(rng.integers(0, 256, (h, w), dtype=np.uint8), (0, 0), 2.0)
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 2] = 90 + texture // 2
    rgb[..., 1] = 40 + texture // 4
    board = np.zeros((h, w), bool)
    board[430:800, 170:550] = True
    rgb[board, 0] = 120 + texture[board] // 2
    rgb[board, 2] = 20 + texture[board] // 8
    path = tmp_path_factory.mktemp("planes") / "planes.png"
    Image.fromarray(rgb).save(path)
    return path


def known_depth(rgb: np.ndarray) -> np.ndarray:
    """The scene's true depth, read off its colours: the red board is near, the blue wall far."""
    return (rgb[..., 0].astype(np.int16) > rgb[..., 2]).astype(np.float32)


def depth_clip(photo: Path, preset: str) -> tuple[np.ndarray, np.ndarray, object]:
    request = GenerationRequest(image=str(photo), preset=preset, duration=1.0, fps=12, quality="draft",
                                aspect="4:5", intensity=1.0, seed=3)
    plan, scene = ENGINE.prepare(request)
    deep, deep_plan = depth.deepen(scene, plan, estimate=known_depth)
    assert isinstance(deep, depth.DepthScene) and len(deep.layers) == 2
    assert "moves as 2 layers by depth" in deep_plan.notes[-1]
    frames = np.empty((plan.num_frames, plan.height, plan.width, 3), np.uint8)
    for index in range(plan.num_frames):
        deep.render(index, frames[index])
    # The photo as one layer, moved as the background: at rest, what every layer together must give.
    photo = cv2.cvtColor(scene.canvas, cv2.COLOR_RGB2RGBA)
    flat = np.empty_like(frames[0])
    whole = depth.DepthLayer(photo, (0, 0, photo.shape[1], photo.shape[0]), 0.0)
    depth.DepthScene(scene, [whole]).render(0, flat)
    return frames, flat, deep


def region_flow(frames: np.ndarray, measure) -> tuple[float, float]:
    """A flow measure averaged over the board and over the wall, summed over frame pairs."""
    near = far = 0.0
    for a, b in zip(frames[:-1], frames[1:]):
        small = (320, round(320 * a.shape[0] / a.shape[1]))
        ga, gb = (cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), small, interpolation=cv2.INTER_AREA)
                  for f in (a, b))
        field = cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 21, 3, 5, 1.1, 0)
        board = cv2.resize(known_depth(a), small, interpolation=cv2.INTER_AREA)
        inner = cv2.erode((board > 0.99).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0  # away from the edge
        wall = cv2.erode((board < 0.01).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        values = measure(field)
        near += float(values[inner].mean())
        far += float(values[wall].mean())
    return near, far


@pytest.mark.parametrize("preset", ["push-in", "pan-right", "orbit"])
def test_the_near_plane_moves_more_than_the_far_one_and_the_first_frame_is_the_photo(two_planes, preset):
    frames, flat, deep = depth_clip(two_planes, preset)
    if preset != "orbit":  # (an orbit's first frame is already turned: a take starts part-way round)
        # At rest the layers recompose the photo, edges included.
        difference = np.abs(frames[0].astype(np.int16) - flat)
        assert difference.mean() < 0.2 and difference.max() <= 3, (difference.mean(), difference.max())
    far_depth, near_depth = deep.depths
    assert near_depth < far_depth  # the board is nearer: it moves as a nearer layer
    h, w = frames.shape[1:3]
    small = (320, round(320 * h / w))
    yy, xx = np.mgrid[0:small[1], 0:small[0]].astype(np.float32)
    cx, cy = deep.subject_center[0] * small[0] / w, deep.subject_center[1] * small[1] / h
    if preset == "push-in":
        # Outward flow per unit distance from the pivot: the rate at which each plane grows.
        rx, ry = xx - cx, yy - cy
        r2 = np.maximum(rx * rx + ry * ry, 400.0)
        near, far = region_flow(frames, lambda f: (f[..., 0] * rx + f[..., 1] * ry) / r2)
        assert far > 0 and near > 2.0 * far, (near, far)
    elif preset == "pan-right":
        # The camera turns right, so the scene slides left: leftward flow, more on the near plane.
        near, far = region_flow(frames, lambda f: -f[..., 0])
        assert far > 0 and near > 2.0 * far, (near, far)
    else:
        # An orbit turns about the near board: the wall behind it slides past, the board holds.
        near, far = region_flow(frames, lambda f: f[..., 0])
        assert abs(far - near) > 4.0 and abs(near) < 0.5 * abs(far), (near, far)


def test_depth_levels_are_cut_where_the_histogram_has_its_gap():
    rng = np.random.default_rng(0)
    two = np.concatenate([rng.normal(0.2, 0.03, 5000), rng.normal(0.8, 0.03, 3000)]).clip(0, 1).reshape(80, 100)
    levels = depth.cuts(two.astype(np.float32))
    assert len(levels) == 1 and 0.3 < levels[0] < 0.7
    three = np.concatenate([rng.normal(m, 0.02, 3000) for m in (0.1, 0.5, 0.9)]).clip(0, 1).reshape(90, 100)
    low, high = depth.cuts(three.astype(np.float32))
    assert 0.15 < low < 0.45 < 0.55 < high < 0.85
    assert depth.normalised(np.full((20, 20), 3.0)) is None  # no depth at all: nothing to layer
    assert depth.normalised(np.array([[np.nan, 1.0], [2.0, 3.0]])) is None


def test_the_command_line_lists_the_add_on_and_refuses_to_render_with_it(capsys):
    from i2v_desktop.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("depth-anything-v2-small "))
    for cell in ("Depth Anything V2 Small", "0.1 GB", "Apache-2.0", "not downloaded"):
        assert cell in row
    assert "depth-anything-v2-small: Depth Anything V2 Small: Optional add-on for the instant engine" in out
    photo = str(SAMPLES / "chelsea.jpg")
    assert main(["render", photo, "--model", depth.DEPTH_MODEL, "--out", "unused"]) == 2
    assert capsys.readouterr().err.strip() == \
        "i2v: Depth Anything V2 Small is an add-on of the instant engine, not a video model: choose another model"
