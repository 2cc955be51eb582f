"""The fast tier: LightX2V's step-distilled LoRAs on tiny Wan pipelines, fully offline.

The LoRA files here are written with the key names and layout of the published ones (LightX2V's
extractor: `diffusion_model.` prefix, lora_down/lora_up pairs with a `.diff_b` bias delta for the
large matrices, full `.diff` deltas for the small ones such as the output head, `.diff_m` for the
modulation tables), at the tiny transformers' shapes, and put in the Hugging Face cache under the
real file names, so they go through the same download-cache and loading code as the real ones.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from i2v_desktop.bench.tiny import save_tiny_pipeline
from i2v_desktop.bench.tiny_registry import FAKE_REVISION, TINY_ENTRY, tiny_registry
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import ModelError
from i2v_desktop.core.events import Failed, Finished, StepProgress
from i2v_desktop.core.presets import load_presets
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.engine.diffusion import DiffusionEngine
from i2v_desktop.engine.lora import ADAPTER, load_loras, loadable
from i2v_desktop.engine.plan import plan_render
from i2v_desktop.engine.registry import Registry, Tier, load_registry

KINDS = ("wan2.1-i2v", "wan2.2-i2v-a14b")
LORA_REPO = "tiny-org/lightx2v-loras"
RANK = 4  # the published files are rank 64

# Original Wan module names (as LightX2V's files use them) and the diffusers modules they are.
BLOCK_PAIRS = {  # large matrices: a LoRA pair and a bias delta
    "self_attn.q": "attn1.to_q", "self_attn.k": "attn1.to_k", "self_attn.v": "attn1.to_v",
    "self_attn.o": "attn1.to_out.0", "cross_attn.q": "attn2.to_q", "cross_attn.k": "attn2.to_k",
    "cross_attn.v": "attn2.to_v", "cross_attn.o": "attn2.to_out.0", "ffn.0": "ffn.net.0.proj", "ffn.2": "ffn.net.2",
}
BLOCK_PAIRS_I2V = {"cross_attn.k_img": "attn2.add_k_proj", "cross_attn.v_img": "attn2.add_v_proj"}
BLOCK_NORMS = {  # one-dimensional: weight deltas only (norm3 is the cross-attention norm, with a bias)
    "self_attn.norm_q": "attn1.norm_q", "self_attn.norm_k": "attn1.norm_k",
    "cross_attn.norm_q": "attn2.norm_q", "cross_attn.norm_k": "attn2.norm_k", "norm3": "norm2",
}
TOP_PAIRS = {
    "text_embedding.0": "condition_embedder.text_embedder.linear_1",
    "text_embedding.2": "condition_embedder.text_embedder.linear_2",
    "time_embedding.0": "condition_embedder.time_embedder.linear_1",
    "time_embedding.2": "condition_embedder.time_embedder.linear_2",
    "time_projection.1": "condition_embedder.time_proj",
}
TOP_PAIRS_I2V = {
    "img_emb.proj.1": "condition_embedder.image_embedder.ff.net.0.proj",
    "img_emb.proj.3": "condition_embedder.image_embedder.ff.net.2",
}


def lightx2v_lora(transformer: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """A LoRA for `transformer` in the published files' layout, bf16 as they are."""
    generator = torch.Generator().manual_seed(seed)
    weights = transformer.state_dict()
    i2v = transformer.config.image_dim is not None
    out: dict[str, torch.Tensor] = {}

    def rand(*shape: int) -> torch.Tensor:
        return (0.2 * torch.randn(*shape, generator=generator)).to(torch.bfloat16)

    def pair(original: str, ours: str) -> None:
        rows, cols = weights[f"{ours}.weight"].shape
        out[f"diffusion_model.{original}.lora_down.weight"] = rand(RANK, cols)
        out[f"diffusion_model.{original}.lora_up.weight"] = rand(rows, RANK)
        out[f"diffusion_model.{original}.diff_b"] = rand(rows)

    def deltas(original: str, ours: str) -> None:
        out[f"diffusion_model.{original}.diff"] = rand(*weights[f"{ours}.weight"].shape)
        if f"{ours}.bias" in weights:
            out[f"diffusion_model.{original}.diff_b"] = rand(*weights[f"{ours}.bias"].shape)

    for i in range(len(transformer.blocks)):
        for original, ours in {**BLOCK_PAIRS, **(BLOCK_PAIRS_I2V if i2v else {})}.items():
            pair(f"blocks.{i}.{original}", f"blocks.{i}.{ours}")
        norms = {**BLOCK_NORMS, **({"cross_attn.norm_k_img": "attn2.norm_added_k"} if i2v else {})}
        for original, ours in norms.items():
            deltas(f"blocks.{i}.{original}", f"blocks.{i}.{ours}")
        out[f"diffusion_model.blocks.{i}.diff_m"] = rand(*weights[f"blocks.{i}.scale_shift_table"].shape)
    for original, ours in {**TOP_PAIRS, **(TOP_PAIRS_I2V if i2v else {})}.items():
        pair(original, ours)
    if i2v:
        deltas("img_emb.proj.0", "condition_embedder.image_embedder.norm1")
        deltas("img_emb.proj.4", "condition_embedder.image_embedder.norm2")
    deltas("patch_embedding", "patch_embedding")
    deltas("head.head", "proj_out")  # the issue-12535 layout: a full delta, no LoRA pair
    out["diffusion_model.head.diff_m"] = rand(*weights["scale_shift_table"].shape)
    return out


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-lora")
    return {kind: save_tiny_pipeline(kind, root / kind) for kind in KINDS}


@pytest.fixture(scope="module")
def lora_files(folders) -> dict[str, tuple[Path, ...]]:
    """Each kind's LoRA files in the session's Hugging Face cache, under the published names."""
    from huggingface_hub import constants

    from i2v_desktop.bench.tiny import build_tiny_pipeline

    snapshot = Path(constants.HF_HUB_CACHE) / f"models--{LORA_REPO.replace('/', '--')}" / "snapshots" / FAKE_REVISION
    snapshot.mkdir(parents=True, exist_ok=True)
    real = load_registry()
    files = {}
    for kind in KINDS:
        pipe = build_tiny_pipeline(kind)
        paths = []
        for n, lora in enumerate(real.get(TINY_ENTRY[kind]).lora.files):
            save_file(lightx2v_lora(getattr(pipe, lora.into), seed=10 + n), snapshot / lora.file)
            paths.append(snapshot / lora.file)
        files[kind] = tuple(paths)
    yield files
    shutil.rmtree(snapshot.parent.parent)


def lora_entry(registry: Registry, kind: str, repo: str = LORA_REPO):
    """The tiny entry with the real entry's fast tier and LoRA set, its files in `repo`."""
    real = load_registry().get(TINY_ENTRY[kind])
    fast = real.tier("fast")
    base = registry.get(TINY_ENTRY[kind])
    lora = replace(real.lora, files=tuple(replace(f, repo=repo, revision=FAKE_REVISION) for f in real.lora.files))
    tiers = MappingProxyType({**base.tiers, "fast": Tier("tiny", fast.steps, fast.guidance, fast.flow_shift)})
    return replace(base, tiers=tiers, lora=lora)


@pytest.fixture(scope="module")
def registry(folders, lora_files) -> Registry:
    tiny = tiny_registry(folders)
    entries = {}
    for kind in KINDS:
        entry = lora_entry(tiny, kind)
        entries[entry.id] = entry
        # The same model and fast tier with no LoRA: what the fast job would be without it.
        entries[f"{entry.id}-no-lora"] = replace(entry, id=f"{entry.id}-no-lora", lora=None)
    return Registry(MappingProxyType(entries), next(iter(entries)))


def run(engine: DiffusionEngine, request: GenerationRequest):
    events = []
    clip = engine.run(request, events.append, CancelToken())
    return clip, events


def request_for(kind: str, photo: str, **over) -> GenerationRequest:
    fields = dict(image=photo, model=TINY_ENTRY[kind], preset="orbit", duration=0.5, seed=5, quality="fast")
    return GenerationRequest(**{**fields, **over})


# -- planning ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["wan2.1-i2v-14b-480p", "wan2.1-i2v-14b-720p", "wan2.2-i2v-a14b"])
def test_the_fast_tier_plans_four_steps_without_guidance_and_names_its_lora(model):
    entry = load_registry().get(model)
    presets = load_presets()
    fast = plan_render(entry, GenerationRequest(image="a.jpg", quality="fast"), (1280, 720), presets.get("orbit"))
    assert (fast.steps, fast.guidance) == (4, 1.0)
    assert fast.guidance_2 == (1.0 if entry.guidance_2 is not None else None)
    assert fast.lora == entry.lora.name and any(entry.lora.name in note for note in fast.notes)
    standard = plan_render(entry, GenerationRequest(image="a.jpg"), (1280, 720), presets.get("orbit"))
    assert standard.lora is None and standard.guidance == entry.guidance > 1.0 and standard.flow_shift is None
    # The user's own steps and guidance still win.
    own = plan_render(entry, GenerationRequest(image="a.jpg", quality="fast", steps=6, guidance=2.0), (1280, 720),
                      presets.get("orbit"))
    assert (own.steps, own.guidance, own.lora) == (6, 2.0, entry.lora.name)


def test_every_published_lora_is_pinned_sized_and_apache_licensed():
    registry = load_registry()
    with_lora = {e.id for e in registry.entries.values() if e.lora is not None}
    assert with_lora == {"wan2.1-i2v-14b-480p", "wan2.1-i2v-14b-720p", "wan2.2-i2v-a14b"}
    a14b = registry.get("wan2.2-i2v-a14b").lora
    assert [f.into for f in a14b.files] == ["transformer", "transformer_2"]
    assert "high_noise" in a14b.files[0].file and "low_noise" in a14b.files[1].file
    for entry in (registry.get(i) for i in with_lora):
        assert entry.lora.licence == "Apache-2.0" and entry.qualities[-1] == "fast"
        for f in entry.lora.files:
            assert f.file.endswith(".safetensors") and 0.1 < f.download_gb < 2
            assert f.revision is None or len(f.revision) == 40 and int(f.revision, 16) >= 0
        assert any(f.repo in source for f in entry.lora.files for source in entry.sources)


def test_lora_files_download_at_their_pinned_revision_and_bad_lora_entries_are_refused(tmp_path):
    import json

    from i2v_desktop.engine import weights

    registry = load_registry()
    [w21] = registry.get("wan2.1-i2v-14b-480p").lora.files
    assert weights._lora_kwargs(w21) == dict(repo_id="lightx2v/Wan2.1-Distill-Loras",
                                             revision="27ae38da91014b947dd39cc3fa78b97cd7b386dd",
                                             filename="wan2.1_i2v_lora_rank64_lightx2v_4step.safetensors")
    assert weights.loras_downloaded(registry.get("svd-xt"))  # needs none
    assert not weights.loras_downloaded(registry.get("wan2.2-i2v-a14b"))  # nothing in this session's cache

    base = "wan2.1-i2v-14b-480p"
    bad = [
        {"id": "cfg-fast", "base": "wan2.2-ti2v-5b",
         "tiers": {**registry_json("wan2.2-ti2v-5b")["tiers"], "fast": {"resolution": "720p", "steps": 4}}},
        {"id": "bad-into", "base": base, "lora": {"name": "x", "licence": "Apache-2.0", "files": [
            {"repo": "a/b", "revision": None, "file": "x.safetensors", "download_gb": 0.1, "into": "unet"}]}},
        {"id": "lora-no-tier", "base": "wan2.2-ti2v-5b", "lora": registry_json(base)["lora"]},
        {"id": "bad-tier", "base": base, "tiers": {**registry_json(base)["tiers"], "turbo": {"resolution": "480p",
                                                                                            "steps": 2}}},
    ]
    user = tmp_path / "models.json"
    user.write_text(json.dumps({"models": bad}))
    loaded = load_registry(user_file=user)
    assert not {"cfg-fast", "bad-into", "lora-no-tier", "bad-tier"} & set(loaded.entries)
    problems = " | ".join(loaded.problems)
    for why in ("tier fast needs a step-distilled lora", "'unet'", "only used by the fast tier", "unknown tier"):
        assert why in problems


def registry_json(model: str) -> dict:
    import json

    from i2v_desktop.engine.registry import registry_file

    return next(m for m in json.loads(registry_file().read_text())["models"] if m["id"] == model)


def test_fast_is_offered_only_where_a_model_has_a_distilled_tier_and_is_refused_elsewhere_in_one_line():
    registry = load_registry()
    offers = {e.id for e in registry.entries.values() if "fast" in e.qualities}
    assert offers == {"wan2.1-i2v-14b-480p", "wan2.1-i2v-14b-720p", "wan2.2-i2v-a14b", "ltx-video-2b-distilled",
                      "hunyuanvideo-1.5-i2v-480p-step-distilled", "ltx-2.3-22b-distilled"}
    ltx = registry.get("ltx-video-2b-distilled")
    plan = plan_render(ltx, GenerationRequest(image="a.jpg", quality="fast"), (1280, 720), load_presets().get("orbit"))
    assert plan.lora is None and plan.guidance == 1.0  # distilled natively: no LoRA
    with pytest.raises(ModelError) as error:
        plan_render(registry.get("svd-xt"), GenerationRequest(image="a.jpg", quality="fast"), (1280, 720),
                    load_presets().get("orbit"))
    message = str(error.value)
    assert "Stable Video Diffusion XT" in message and "fast" in message and "\n" not in message


# -- loading ----------------------------------------------------------------------------------


def test_the_issue_12535_head_delta_becomes_an_exact_lora_pair():
    delta = torch.randn(64, 24)
    state = {"diffusion_model.head.head.diff": delta, "diffusion_model.head.head.diff_b": torch.randn(64),
             "diffusion_model.blocks.0.self_attn.norm_q.diff": torch.randn(24),
             "diffusion_model.blocks.0.ffn.0.lora_down.weight": torch.randn(4, 24),
             "diffusion_model.blocks.0.ffn.0.lora_up.weight": torch.randn(32, 4)}
    out = loadable(state)
    down, up = out["diffusion_model.head.head.lora_down.weight"], out["diffusion_model.head.head.lora_up.weight"]
    torch.testing.assert_close(up @ down, delta, rtol=0, atol=0)
    assert "diffusion_model.head.head.diff" not in out
    for key in ("diffusion_model.head.head.diff_b", "diffusion_model.blocks.0.self_attn.norm_q.diff",
                "diffusion_model.blocks.0.ffn.0.lora_down.weight"):
        assert out[key] is state[key]  # everything else as it was
    # The pair's rank is the smaller side: the real head (64 x 5120) keeps rank 64.
    wide = loadable({"diffusion_model.x.diff": torch.randn(24, 64)})
    assert wide["diffusion_model.x.lora_down.weight"].shape == (24, 64)
    assert wide["diffusion_model.x.lora_up.weight"].shape == (24, 24)
    assert down.shape == (24, 24) and up.shape == (64, 24)  # the tiny head is taller than wide


@pytest.mark.parametrize("kind", KINDS)
def test_the_published_layout_loads_into_each_denoiser_it_names(kind, registry, lora_files):
    from diffusers import DiffusionPipeline

    entry = registry.get(TINY_ENTRY[kind])
    pipe = DiffusionPipeline.from_pretrained(entry.local_path)
    load_loras(pipe, entry, lora_files[kind])
    for lora, path in zip(entry.lora.files, lora_files[kind], strict=True):
        state = load_file(str(path))
        module = getattr(pipe, lora.into)
        q = module.blocks[1].attn1.to_q
        torch.testing.assert_close(q.lora_A[ADAPTER].weight,
                                   state["diffusion_model.blocks.1.self_attn.q.lora_down.weight"].float())
        torch.testing.assert_close(q.lora_B[ADAPTER].bias, state["diffusion_model.blocks.1.self_attn.q.diff_b"].float())
        head = module.proj_out  # the issue-12535 layout: the full delta, as an exact pair
        torch.testing.assert_close(head.lora_B[ADAPTER].weight @ head.lora_A[ADAPTER].weight,
                                   state["diffusion_model.head.head.diff"].float())
        if kind == "wan2.1-i2v":  # the image branch gets its LoRA too
            assert ADAPTER in module.blocks[0].attn2.add_k_proj.lora_A
            assert ADAPTER in module.condition_embedder.image_embedder.ff.net[0].proj.lora_A
    if kind == "wan2.2-i2v-a14b":  # each expert its own file
        high = pipe.transformer.blocks[0].ffn.net[2].lora_A[ADAPTER].weight
        low = pipe.transformer_2.blocks[0].ffn.net[2].lora_A[ADAPTER].weight
        assert not torch.equal(high, low)


# -- rendering --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_fast_job_runs_the_lora_and_a_standard_job_after_it_is_untouched(kind, registry, photo, monkeypatch):
    from diffusers import WanImageToVideoPipeline

    loads = []
    original = WanImageToVideoPipeline.load_lora_weights
    monkeypatch.setattr(WanImageToVideoPipeline, "load_lora_weights",
                        lambda self, *a, **k: loads.append(k["load_into_transformer_2"]) or original(self, *a, **k))
    presets = load_presets()
    engine = DiffusionEngine(registry, presets, device="cpu")
    fast, events = run(engine, request_for(kind, photo))
    assert isinstance(events[-1], Finished), events[-1]
    steps = [e for e in events if isinstance(e, StepProgress)]
    assert len(steps) == 4 and fast.info.steps == 4 and fast.info.guidance == 1.0
    entry = registry.get(TINY_ENTRY[kind])
    assert any(entry.lora.name in note for note in fast.info.notes)
    assert loads == [f.into == "transformer_2" for f in entry.lora.files]  # every file, into its denoiser

    # The same fast job with no LoRA renders other frames: the LoRA reached the denoiser(s).
    bare = DiffusionEngine(registry, presets, device="cpu")
    without, _ = run(bare, request_for(kind, photo, model=f"{entry.id}-no-lora"))
    bare.close()
    assert not np.array_equal(fast.frames, without.frames)

    # A standard job on the same pipeline equals one on a pipeline that never had the LoRA.
    standard, _ = run(engine, request_for(kind, photo, quality="standard"))
    fresh = DiffusionEngine(registry, presets, device="cpu")
    reference, _ = run(fresh, request_for(kind, photo, quality="standard"))
    fresh.close()
    np.testing.assert_array_equal(standard.frames, reference.frames)
    assert not any("LoRA" in note for note in standard.info.notes)

    # Fast again: the LoRA is switched back on, not loaded a second time.
    again, _ = run(engine, request_for(kind, photo))
    np.testing.assert_array_equal(again.frames, fast.frames)
    assert len(loads) == len(entry.lora.files)
    engine.close()


def test_a_lora_file_that_does_not_load_fails_in_one_line_and_leaves_the_model_clean(registry, folders, photo,
                                                                                     tmp_path):
    from huggingface_hub import constants

    # The low-noise file is cut short, as an interrupted copy would be: the high-noise one loads first.
    entry = lora_entry(registry, "wan2.2-i2v-a14b", repo="tiny-org/broken-loras")
    snapshot = Path(constants.HF_HUB_CACHE) / "models--tiny-org--broken-loras" / "snapshots" / FAKE_REVISION
    snapshot.mkdir(parents=True)
    good = Path(constants.HF_HUB_CACHE) / f"models--{LORA_REPO.replace('/', '--')}" / "snapshots" / FAKE_REVISION
    high, low = (f.file for f in entry.lora.files)
    shutil.copy(good / high, snapshot / high)
    (snapshot / low).write_bytes((good / low).read_bytes()[:1000])
    presets = load_presets()
    engine = DiffusionEngine(Registry({entry.id: entry}, entry.id), presets, device="cpu")
    clip, events = run(engine, request_for("wan2.2-i2v-a14b", photo))
    assert clip is None and isinstance(events[-1], Failed)
    reason = events[-1].reason
    assert low in reason and "cannot load" in reason and "\n" not in reason
    # Nothing of the half-loaded set stays behind: a standard job is a fresh pipeline's.
    standard, _ = run(engine, request_for("wan2.2-i2v-a14b", photo, quality="standard"))
    fresh = DiffusionEngine(registry, presets, device="cpu")
    reference, _ = run(fresh, request_for("wan2.2-i2v-a14b", photo, quality="standard"))
    np.testing.assert_array_equal(standard.frames, reference.frames)
    engine.close()
    fresh.close()
    shutil.rmtree(snapshot.parent.parent)


def test_a_model_without_a_fast_tier_fails_the_job_in_one_line_naming_it(photo, tmp_path):
    folder = save_tiny_pipeline("svd", tmp_path / "svd")
    registry = tiny_registry({"svd": folder})
    engine = DiffusionEngine(registry, load_presets(), device="cpu")
    clip, events = run(engine, GenerationRequest(image=photo, model="svd-xt", quality="fast"))
    assert clip is None and isinstance(events[-1], Failed)
    reason = events[-1].reason
    assert "Stable Video Diffusion XT" in reason and "no fast quality" in reason and "\n" not in reason


def test_a_missing_lora_offline_says_what_to_download_in_one_line(registry, photo):
    entry = lora_entry(registry, "wan2.1-i2v", repo="tiny-org/not-here")
    engine = DiffusionEngine(Registry({entry.id: entry}, entry.id), load_presets(), device="cpu")
    clip, events = run(engine, request_for("wan2.1-i2v", photo))
    assert clip is None and isinstance(events[-1], Failed)
    reason = events[-1].reason
    assert "not downloaded" in reason and "tiny-org/not-here" in reason and f"i2v download {entry.id}" in reason
    assert f"{entry.lora.download_gb:g} GB" in reason and "\n" not in reason
    # The model itself still renders its other tiers.
    clip, events = run(engine, request_for("wan2.1-i2v", photo, quality="draft"))
    assert clip is not None, events[-1]
    engine.close()


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def user_fast_model(folders, lora_files, isolated_home) -> str:
    """A user's own models.json entry: the 480p model's fast tier and LoRA over a tiny local folder."""
    import json

    real = load_registry().get("wan2.1-i2v-14b-480p")
    tiers = {q: {"resolution": "tiny", "steps": 2} for q in ("draft", "standard", "final")}
    tiers["fast"] = {"resolution": "tiny", "steps": 4, "guidance": 1.0, "flow_shift": 5.0}
    lora = {"name": real.lora.name, "licence": real.lora.licence, "files": [
        {"repo": LORA_REPO, "revision": FAKE_REVISION, "file": f.file, "download_gb": f.download_gb, "into": f.into}
        for f in real.lora.files]}
    entry = {"id": "tiny-fast", "base": real.id, "name": "Tiny fast Wan", "path": str(folders["wan2.1-i2v"]),
             "resolutions": {"tiny": [64, 64]}, "max_frames": 9, "tiers": tiers, "lora": lora,
             "tiny_decoder": None}  # a folder of the user's own, without a tiny video decoder
    folder = isolated_home / "config" / "i2v_desktop"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models.json").write_text(json.dumps({"models": [entry]}))
    return "tiny-fast"


def test_the_cli_refuses_fast_on_a_model_without_it_and_names_the_models_that_offer_it(samples, tmp_path, capsys):
    from i2v_desktop.cli import main

    code = main(["render", str(samples / "coffee.jpg"), "--model", "svd-xt", "--quality", "fast",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "Stable Video Diffusion XT has no fast quality" in err
    for model in ("wan2.1-i2v-14b-480p", "wan2.1-i2v-14b-720p", "wan2.2-i2v-a14b", "ltx-video-2b-distilled"):
        assert model in err
    assert not list(tmp_path.glob("*.mp4"))


def test_the_cli_lists_fast_tiers_downloads_their_lora_and_renders_fast(user_fast_model, samples, tmp_path, capsys):
    from i2v_desktop.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    tiers = {lines[i].split(":")[0]: lines[i + 2] for i in range(len(lines) - 2)
             if lines[i + 2].startswith("  qualities:") and not lines[i].startswith(" ")}
    assert "LoRA 0.74 GB)" in tiers["wan2.1-i2v-14b-480p"] and "LoRA 1.37 GB)" in tiers["wan2.2-i2v-a14b"]
    assert "(fast: distilled, built in)" in tiers["ltx-video-2b-distilled"] and "fast" not in tiers["svd-xt"]
    assert "LoRA 0.74 GB, downloaded)" in tiers["tiny-fast"]  # its files are in the cache

    assert main(["download", user_fast_model]) == 0
    out = capsys.readouterr().out
    assert "LoRA is ready in" in out and FAKE_REVISION in out

    code = main(["render", str(samples / "coffee.jpg"), "--model", user_fast_model, "--quality", "fast",
                 "--duration", "0.5", "--seed", "4", "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    from i2v_desktop.studio.records import read_record

    [clip] = tmp_path.glob("*.mp4")
    made = read_record(clip).render
    assert made["steps"] == 4 and made["guidance"] == 1.0
    assert any("lightx2v-wan2.1-i2v-4step LoRA" in note for note in made["notes"])
