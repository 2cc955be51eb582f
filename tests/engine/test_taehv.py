"""The tiny video decoder: its published layout, its frame and pixel counts, and its use in the engine.

Random weights throughout (the real files cannot be downloaded here); the engine runs the tiny
diffusers pipelines with a tiny decoder file placed in the session's Hugging Face cache the way a
download would place it, and removed afterwards.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from i2v_desktop.bench.tiny import save_tiny_pipeline
from i2v_desktop.bench.tiny_registry import FAKE_REVISION, TINY_ENTRY, tiny_registry
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import ModelError
from i2v_desktop.core.events import StepProgress
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine import weights
from i2v_desktop.engine.diffusion import DiffusionEngine
from i2v_desktop.engine.preview import PREVIEW_WIDTH, photo_latent
from i2v_desktop.engine.registry import Registry, TinyDecoder, load_registry
from i2v_desktop.engine.speed import SpeedPlan
from i2v_desktop.engine.taehv import ARCHS, TinyVideoAutoencoder, load_tiny_autoencoder, time_decoders

KINDS = ("wan2.1-i2v", "wan2.2-ti2v")
ARCH_OF = {"wan2.1-i2v": "taew2_1", "wan2.2-ti2v": "taew2_2"}
TEST_REPO = "tiny-org/tiny-decoders"


def published_layout(arch: str) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of a published TAEHV checkpoint, written out from its layout:

    encoder: 0 conv(3p², 64)+bias, 1 ReLU, then three stages of [time pool (1×1, no bias),
    stride-2 conv (no bias), three memory blocks], 17 conv(64, C)+bias;
    decoder: 0 clamp, 1 conv(C, 256)+bias, 2 ReLU, then three stages of [three memory blocks,
    upsample, time grow (1×1, no bias), conv to the next width (no bias)], 21 ReLU, 22 conv(64, 3p²)+bias.
    A memory block holds conv.0 (2n→n), conv.2 and conv.4 (n→n), each with a bias.
    """
    a = ARCHS[arch]
    c, p = a.latent_channels, a.patch
    keys: dict[str, tuple[int, ...]] = {}

    def conv(name: str, n_in: int, n_out: int, k: int = 3, bias: bool = True) -> None:
        keys[f"{name}.weight"] = (n_out, n_in, k, k)
        if bias:
            keys[f"{name}.bias"] = (n_out,)

    def memory(name: str, n: int) -> None:
        conv(f"{name}.conv.0", 2 * n, n)
        conv(f"{name}.conv.2", n, n)
        conv(f"{name}.conv.4", n, n)

    conv("encoder.0", 3 * p * p, 64)
    for stage, first in enumerate((2, 7, 12)):
        stride = 2 if a.time_down[stage] else 1
        conv(f"encoder.{first}.conv", 64 * stride, 64, k=1, bias=False)
        conv(f"encoder.{first + 1}", 64, 64, bias=False)
        for i in range(first + 2, first + 5):
            memory(f"encoder.{i}", 64)
    conv("encoder.17", 64, c)
    widths = (256, 128, 64, 64)
    conv("decoder.1", c, 256)
    for stage, first in enumerate((3, 9, 15)):
        n = widths[stage]
        for i in range(first, first + 3):
            memory(f"decoder.{i}", n)
        stride = 2 if a.time_up[stage] else 1
        conv(f"decoder.{first + 4}.conv", n, n * stride, k=1, bias=False)
        conv(f"decoder.{first + 5}", n, widths[stage + 1], bias=False)
    conv("decoder.22", 64, 3 * p * p)
    return keys


def random_checkpoint(path: Path, arch: str, seed: int = 0) -> Path:
    """A file laid out like the published ones (float16), with random values a decoder can run on."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in published_layout(arch).items():
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        state[name] = (torch.randn(shape, generator=generator) / fan_in**0.5).to(torch.float16)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    return path


# -- the module ---------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_our_module_has_exactly_the_published_parameter_layout(arch):
    ours = {k: tuple(v.shape) for k, v in TinyVideoAutoencoder(ARCHS[arch]).state_dict().items()}
    assert ours == published_layout(arch)


def test_taew2_1_matches_the_published_file_size():
    # The published taew2_1.safetensors: 128 tensors, 11.3M parameters, float16 (22.6 MB).
    layout = published_layout("taew2_1")
    assert len(layout) == 128
    assert sum(int(np.prod(s)) for s in layout.values()) == pytest.approx(11.3e6, rel=0.01)


@pytest.mark.parametrize("arch", ["taew2_1", "taew2_2"])
def test_a_checkpoint_with_the_published_names_loads_strictly(arch, tmp_path):
    path = random_checkpoint(tmp_path / f"{arch}.safetensors", arch)
    model = load_tiny_autoencoder(path, arch, "cpu")
    assert model.decoder[22].weight.dtype == torch.float32  # float16 file, float32 on a CPU
    from safetensors.torch import load_file

    saved = load_file(str(path))
    for name, value in model.state_dict().items():
        assert torch.equal(value, saved[name].float()), name


def test_a_wrong_or_broken_file_is_a_one_line_error_naming_it(tmp_path):
    w22 = random_checkpoint(tmp_path / "taew2_2.safetensors", "taew2_2")
    with pytest.raises(ModelError, match=r"taew2_2\.safetensors: not a taew2_1 tiny autoencoder") as info:
        load_tiny_autoencoder(w22, "taew2_1", "cpu")
    assert "\n" not in str(info.value)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError, match="broken.safetensors: cannot read the tiny decoder"):
        load_tiny_autoencoder(broken, "taew2_1", "cpu")


@pytest.mark.parametrize(
    "arch, temporal, spatial", [("taew2_1", 4, 8), ("taehv", 4, 8), ("taew2_2", 4, 16), ("taeltx_2", 8, 32)]
)
@pytest.mark.parametrize("latent_frames", [1, 2, 5])
def test_frames_and_size_equal_the_full_vae_rule(arch, temporal, spatial, latent_frames):
    model = TinyVideoAutoencoder(ARCHS[arch]).eval()
    assert (model.arch.temporal, model.arch.spatial) == (temporal, spatial)
    latents = torch.randn(1, ARCHS[arch].latent_channels, latent_frames, 3, 2)
    with torch.no_grad():
        full = model.decode(latents)
        half = model.decode(latents, full_size=False)
    frames = temporal * (latent_frames - 1) + 1  # Wan: 4(T-1)+1, LTX: 8(T-1)+1
    assert full.shape == (1, 3, frames, 3 * spatial, 2 * spatial)
    assert model.output_frames(latent_frames) == frames
    assert half.shape == (1, 3, frames, 3 * spatial // 2, spatial)
    assert 0.0 <= float(full.min()) and float(full.max()) <= 1.0


def test_wrong_channel_count_is_refused():
    model = TinyVideoAutoencoder(ARCHS["taew2_1"])
    with pytest.raises(ValueError, match="16 latent channels, got 48"):
        model.decode(torch.zeros(1, 48, 2, 2, 2))


def test_frames_line_up_with_the_full_vae_causally():
    """Latent frame 0 is clip frame 0; latent frame j (j ≥ 1) is clip frames 4j−3 … 4j, and nothing
    earlier depends on it: the alignment the full Wan VAE has."""
    model = TinyVideoAutoencoder(ARCHS["taew2_1"]).eval()
    torch.manual_seed(0)
    for module in model.decoder.modules():  # larger weights than the default init, so changes show
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, std=2.0 / (module.weight[0].numel() ** 0.5))
    latents = torch.randn(1, 16, 4, 4, 4)
    changed = latents.clone()
    changed[:, :, 2] += 3.0
    with torch.no_grad():
        a, b = model.decode(latents), model.decode(changed)
    diff = (a - b).abs().amax(dim=(0, 1, 3, 4))
    assert torch.all(diff[:5] == 0)  # frames 0..4 come from latents 0 and 1
    assert torch.all(diff[5:9] > 0)  # frames 5..8 are latent 2's own


def test_chunked_decode_is_the_same_clip():
    model = TinyVideoAutoencoder(ARCHS["taew2_2"]).eval()
    latents = torch.randn(1, 48, 5, 3, 3)
    with torch.no_grad():
        whole = model.decode(latents, chunk=None)
        for chunk in (1, 2, 3):
            assert torch.allclose(model.decode(latents, chunk=chunk), whole, atol=1e-6), chunk


def test_encoder_round_trip_shapes():
    model = TinyVideoAutoencoder(ARCHS["taew2_2"]).eval()
    with torch.no_grad():
        latents = model.encode(torch.rand(1, 3, 9, 32, 48))
    assert latents.shape == (1, 48, 3, 2, 3)


def test_time_decoders_reports_both_decoders_on_the_same_clip(tmp_path):
    from diffusers import AutoencoderKLWan

    folder = save_tiny_pipeline("wan2.1-i2v", tmp_path / "wan")
    vae = AutoencoderKLWan.from_pretrained(folder / "vae").eval()
    tiny = TinyVideoAutoencoder(ARCHS["taew2_1"]).eval()
    timing = time_decoders(vae, tiny, (1, 16, 3, 8, 6), repeats=2)
    assert timing.frames == 9 and timing.size == (48, 64)
    assert timing.full_s > 0 and timing.tiny_s > 0 and timing.speedup > 0
    assert timing.full_peak_gb is None and timing.tiny_peak_gb is None  # peak memory is a GPU figure


# -- the registry and downloads --------------------------------------------------------------


def test_registry_tiny_decoders_fit_their_models():
    registry = load_registry()
    with_tiny = {e.id: e.tiny_decoder for e in registry.entries.values() if e.tiny_decoder is not None}
    wan = {"wan2.2-ti2v-5b", "wan2.1-i2v-14b-480p", "wan2.1-i2v-14b-720p", "wan2.1-flf2v-14b-720p", "wan2.2-i2v-a14b"}
    assert set(with_tiny) == wan
    for model_id, tiny in with_tiny.items():
        entry = registry.get(model_id)
        arch = ARCHS[tiny.arch]
        assert (arch.temporal, arch.spatial) == (entry.temporal_ratio, entry.spatial_ratio), model_id
        assert tiny.file == f"{tiny.arch}.safetensors" and len(tiny.revision) == 40
        assert tiny.licence.startswith("MIT") and 0 < tiny.download_gb < 0.1 and tiny.sources
    assert with_tiny["wan2.2-ti2v-5b"].arch == "taew2_2"
    assert with_tiny["wan2.2-i2v-a14b"].arch == "taew2_1"  # A14B kept the Wan 2.1 VAE
    # LTX-Video 0.9's latent space has no published tiny decoder (taeltx_2 is LTX-2's);
    # SVD's (TAESDV) is another design.
    assert registry.get("ltx-video-2b-distilled").tiny_decoder is None
    assert registry.get("svd-xt").tiny_decoder is None


def test_a_user_entry_with_a_pickled_tiny_decoder_is_skipped(tmp_path):
    import json

    user = tmp_path / "models.json"
    bad = {"arch": "taew2_1", "repo": "x/y", "revision": FAKE_REVISION, "file": "taew2_1.pth",
           "download_gb": 0.02, "licence": "MIT"}
    mine = {"id": "mine", "base": "wan2.1-i2v-14b-480p", "tiny_decoder": bad}
    user.write_text(json.dumps({"models": [mine]}))
    registry = load_registry(user_file=user)
    assert "mine" not in registry.entries and "not a .safetensors file" in registry.problems[0]


def test_nothing_cached_means_no_tiny_decoder_and_nothing_is_fetched_for_it(hub_cache):
    entry = load_registry().get("wan2.2-ti2v-5b")
    assert weights.tiny_decoder_file(entry) is None
    assert not any(hub_cache.glob("models--lightx2v--Autoencoders*"))
    assert weights.tiny_decoder_file(load_registry().get("svd-xt")) is None  # it has none


# -- in the engine ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-taehv")
    return {kind: save_tiny_pipeline(kind, root / kind) for kind in KINDS}


@pytest.fixture
def cached_tiny(hub_cache):
    """Random-weight tiny decoders where a download of TEST_REPO at FAKE_REVISION would put them."""
    snapshot = hub_cache / f"models--{TEST_REPO.replace('/', '--')}" / "snapshots" / FAKE_REVISION
    for arch in ARCH_OF.values():
        random_checkpoint(snapshot / f"{arch}.safetensors", arch, seed=3)
    yield snapshot
    shutil.rmtree(snapshot.parent.parent)


def registry_with(folders, test_decoders: bool) -> Registry:
    registry = tiny_registry(folders)
    entries = {}
    for kind in KINDS:
        entry = registry.get(TINY_ENTRY[kind])
        if test_decoders:
            arch = ARCH_OF[kind]
            tiny = TinyDecoder(arch, TEST_REPO, FAKE_REVISION, f"{arch}.safetensors", 0.023, "MIT")
            entry = replace(entry, tiny_decoder=tiny)
        entries[entry.id] = entry
    return Registry(entries, next(iter(entries)))


@pytest.fixture
def photo(tmp_path) -> str:
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (72, 96, 3), dtype=np.uint8)).save(path)
    return str(path)


def render(registry, kind, photo, speed: SpeedPlan | None = None, **over):
    # Speed off but for the switches a test forces: the full VAE unless it asks for the tiny one.
    forced = "off" if speed is None else {"tiny_decoder": speed.tiny_decoder}
    engine = DiffusionEngine(registry, load_presets(), device="cpu", preview_share=1.0, speed=forced)
    fields = dict(image=photo, model=TINY_ENTRY[kind], preset="orbit", duration=1.0, seed=7, steps=3)
    events: list = []
    clip = engine.generate(GenerationRequest(**{**fields, **over}), events.append, CancelToken())
    previews = [e.preview for e in events if isinstance(e, StepProgress) and e.preview is not None]
    return clip, previews, engine


@pytest.mark.parametrize("kind", KINDS)
def test_previews_use_the_tiny_decoder_when_downloaded_at_the_clip_frames_and_rate(
    kind, folders, cached_tiny, photo
):
    clip, previews, engine = render(registry_with(folders, True), kind, photo)
    assert previews
    for preview in previews:
        t, h, w, c = preview.frames.shape
        assert (t, c) == (clip.num_frames, 3)  # one preview frame per clip frame …
        assert preview.fps == pytest.approx(clip.fps)  # … at the clip's own rate, so they line up in time
        assert w <= PREVIEW_WIDTH and w / h == pytest.approx(clip.size[0] / clip.size[1], rel=0.01)
    engine.close()


@pytest.mark.parametrize("kind", KINDS)
def test_without_the_file_previews_stay_the_projection_and_nothing_is_downloaded(
    kind, folders, photo, hub_cache
):
    registry = registry_with(folders, False)  # the real tiny_decoder fields, nothing in the cache
    entry = registry.get(TINY_ENTRY[kind])
    assert entry.tiny_decoder is not None and weights.tiny_decoder_file(entry) is None
    clip, previews, engine = render(registry, kind, photo, SpeedPlan(tiny_decoder=True), quality="draft")
    latent_frames = (clip.num_frames - 1) // entry.temporal_ratio + 1
    assert previews and all(p.frames.shape[0] == latent_frames for p in previews)
    assert not any("tiny decoder" in note for note in clip.info.notes)  # the full VAE decoded it
    assert not any(hub_cache.glob(f"models--{entry.tiny_decoder.repo.replace('/', '--')}*"))
    engine.close()


@pytest.mark.parametrize("kind", KINDS)
def test_draft_decode_through_the_tiny_decoder_gives_the_full_vae_frame_count_and_size(
    kind, folders, cached_tiny, photo
):
    registry = registry_with(folders, True)
    full, _, engine = render(registry, kind, photo, quality="draft")
    engine.close()
    tiny, _, engine = render(registry, kind, photo, SpeedPlan(tiny_decoder=True), quality="draft")
    engine.close()
    assert tiny.frames.shape == full.frames.shape and tiny.frames.dtype == np.uint8
    assert not np.array_equal(tiny.frames, full.frames)  # really another decoder
    assert any("tiny decoder" in note for note in tiny.info.notes)


def test_the_final_tier_keeps_the_full_vae_even_when_the_speed_plan_asks(folders, cached_tiny, photo):
    registry = registry_with(folders, True)
    kind = "wan2.1-i2v"
    final_off, _, engine = render(registry, kind, photo, quality="final")
    engine.close()
    final_on, _, engine = render(registry, kind, photo, SpeedPlan(tiny_decoder=True), quality="final")
    engine.close()
    assert np.array_equal(final_on.frames, final_off.frames)


def test_ti2v_photo_latent_is_the_first_latent_frame_the_pipeline_decodes(folders, photo):
    """The tiny preview of Wan2.2 TI2V starts from the same first latent frame as the final decode."""
    _, _, engine = render(registry_with(folders, False), "wan2.2-ti2v", photo, steps=2)
    pipe = engine._pipe
    frame = np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    out = pipe(image=Image.fromarray(frame), prompt="a photo", height=64, width=64, num_frames=5,
               num_inference_steps=1, guidance_scale=1.0, output_type="latent",
               generator=torch.Generator().manual_seed(0))
    ours = photo_latent(pipe, frame)
    assert ours.shape == out.frames[0][:, :1].shape
    assert torch.allclose(ours, out.frames[0][:, :1].float(), atol=1e-5)
    engine.close()
