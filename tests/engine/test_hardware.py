"""The hardware profile read from recorded tool outputs, and the fit verdict on made-up machines,
checked against the memory plan a render would really pick there."""

from __future__ import annotations

import os
import sys

import pytest

from i2v_desktop.core.studio import FITS, FITS_OFFLOADED, TOO_BIG, Fit, Hardware, memory_text
from i2v_desktop.engine import hardware as hw
from i2v_desktop.engine.device import MachineFacts, plan_memory
from i2v_desktop.engine.fit import SEQUENTIAL_COST, fit, needs, suggest
from i2v_desktop.engine.registry import load_registry

# nvidia-smi --query-gpu=uuid,name,memory.total,memory.free,compute_cap --format=csv,noheader,nounits
H100 = "GPU-5a4b8f0e-91c2-4b8e-b5c6-2f1d6a7e9c01, NVIDIA H100 80GB HBM3, 81559, 81003, 9.0\n"
TWO = ("GPU-0f6e1c2a-7d3b-4e5f-8a9b-1c2d3e4f5a6b, NVIDIA GeForce RTX 4090, 24564, 23170, 8.9\n"
       "GPU-9e8d7c6b-5a4f-3e2d-1c0b-a9b8c7d6e5f4, NVIDIA GeForce RTX 3060, 12288, 11903, 8.6\n")
NA = "GPU-11111111-2222-3333-4444-555555555555, NVIDIA GH200 480GB, [N/A], [N/A], 9.0\n"
OLD_DRIVER = "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee, Tesla T4, 15360, 15101\n"  # asked without compute_cap
# nvidia-smi --query-compute-apps=gpu_uuid,pid,used_memory --format=csv,noheader,nounits
APPS = ("GPU-0f6e1c2a-7d3b-4e5f-8a9b-1c2d3e4f5a6b, 4242, 1024\n"
        "GPU-0f6e1c2a-7d3b-4e5f-8a9b-1c2d3e4f5a6b, 777, 300\n"
        "GPU-9e8d7c6b-5a4f-3e2d-1c0b-a9b8c7d6e5f4, 4242, 256\n"
        "GPU-0f6e1c2a-7d3b-4e5f-8a9b-1c2d3e4f5a6b, 99, [N/A]\n")


def test_nvidia_smi_lines_become_gpus_in_gb():
    [gpu] = hw.parse_smi(H100)
    assert gpu.name == "NVIDIA H100 80GB HBM3" and gpu.compute_capability == "9.0"
    assert gpu.uuid == "GPU-5a4b8f0e-91c2-4b8e-b5c6-2f1d6a7e9c01"
    assert gpu.total_gb == pytest.approx(79.65, abs=0.01) and gpu.free_gb == pytest.approx(79.1, abs=0.01)
    first, second = hw.parse_smi(TWO)
    assert (first.name, second.name, second.compute_capability) == ("NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 3060",
                                                                   "8.6")
    [unified] = hw.parse_smi(NA)
    assert unified.total_gb is None and unified.free_gb is None and unified.compute_capability == "9.0"
    [t4] = hw.parse_smi(OLD_DRIVER)
    assert t4.name == "Tesla T4" and t4.compute_capability == "" and t4.total_gb == 15.0
    assert hw.parse_smi("") == [] and hw.parse_smi("No devices were found\n") == []


def test_what_our_own_render_process_holds_counts_as_free():
    """A loaded model is freed before the next one loads: the verdict must not flip while one is held."""
    card, other = hw.parse_smi(TWO)
    apps = hw.parse_apps(APPS)
    assert apps[0] == ("GPU-0f6e1c2a-7d3b-4e5f-8a9b-1c2d3e4f5a6b", 4242, 1.0) and len(apps) == 3
    assert hw.free_for_us(card, apps, {4242}) == pytest.approx(card.free_gb + 1.0)  # not what pid 777 holds
    assert hw.free_for_us(card, [(card.uuid, 4242, 5.0)], {4242}) == card.total_gb  # never past the card
    assert hw.free_for_us(card, apps, {1}) == card.free_gb
    assert hw.free_for_us(other, apps, {4242}) == pytest.approx(other.free_gb + 0.25)
    assert hw.free_for_us(hw.parse_smi(NA)[0], apps, {4242}) is None
    assert hw.own_pids() >= {os.getpid()}


@pytest.mark.parametrize("visible, name", [(None, "NVIDIA GeForce RTX 4090"), ("1", "NVIDIA GeForce RTX 3060"),
                                           ("1,0", "NVIDIA GeForce RTX 3060"), ("", None), ("-1", None), ("5", None),
                                           ("GPU-8c4e8f5a", "NVIDIA GeForce RTX 4090")])
def test_the_gpu_a_render_uses_is_the_first_cuda_sees(visible, name):
    gpu = hw.visible_gpu(hw.parse_smi(TWO), visible)
    assert (gpu.name if gpu else None) == name


def test_meminfo_gives_total_and_available():
    text = "MemTotal:       65756044 kB\nMemFree:         1204300 kB\nMemAvailable:   40123456 kB\nBuffers: 1 kB\n"
    total, available = hw.parse_meminfo(text)
    assert total == pytest.approx(62.71, abs=0.01) and available == pytest.approx(38.26, abs=0.01)
    assert hw.parse_meminfo("MemTotal: 1048576 kB\nMemFree: 524288 kB\n") == (1.0, 0.5)  # old kernels
    assert hw.parse_meminfo("") == (None, None)


def test_free_disk_is_read_at_the_nearest_folder_that_exists(tmp_path):
    free, where = hw.disk_free(tmp_path / "not" / "yet" / "hub")
    assert where == tmp_path and free is not None and free > 0


def test_read_hardware_without_a_gpu_tool_is_a_cpu_profile_and_imports_no_torch(monkeypatch, tmp_path):
    monkeypatch.setattr(hw.shutil, "which", lambda name: None)
    monkeypatch.setattr(hw, "is_apple_silicon", lambda: False)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    profile = hw.read_hardware()
    assert "torch" not in sys.modules
    assert (profile.device, profile.gpu, profile.vram_gb, profile.compute_capability) == ("cpu", "", None, "")
    assert profile.ram_gb and profile.ram_free_gb and profile.disk_free_gb is not None
    assert profile.torch.startswith("2.") or profile.torch == "not installed"
    from i2v_desktop.core.errors import ModelError

    with pytest.raises(ModelError, match="no CUDA GPU"):
        hw.read_hardware("cuda")


def test_read_hardware_asks_nvidia_smi_and_falls_back_for_old_drivers(monkeypatch, tmp_path):
    import subprocess

    asked = []

    def run(cmd, **kwargs):
        asked.append(cmd[1])
        if "compute_cap" in cmd[1]:
            raise subprocess.CalledProcessError(2, cmd, "Field \"compute_cap\" is not a valid field to query.")
        if cmd[1].startswith("--query-compute-apps"):  # our own render process holds 128 MB of the T4
            return subprocess.CompletedProcess(cmd, 0, f"GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee, {os.getpid()}, 128\n", "")
        return subprocess.CompletedProcess(cmd, 0, OLD_DRIVER, "")

    monkeypatch.setattr(hw.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(hw.subprocess, "run", run)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    profile = hw.read_hardware()
    assert asked == ["--query-gpu=uuid,name,memory.total,memory.free,compute_cap",
                     "--query-gpu=uuid,name,memory.total,memory.free",
                     "--query-compute-apps=gpu_uuid,pid,used_memory"]
    assert (profile.device, profile.gpu, profile.vram_gb, profile.compute_capability, profile.bf16) == \
        ("cuda", "Tesla T4", 15.0, "", False)
    assert profile.vram_free_gb == pytest.approx((15101 + 128) / 1024)
    assert hw.read_hardware("cpu").device == "cpu"


def test_apple_gpu_memory_is_the_share_metal_allows():
    assert hw.apple_gpu_gb(16.0) == pytest.approx(10.67, abs=0.01)
    assert hw.apple_gpu_gb(64.0) == 48.0 and hw.apple_gpu_gb(None) is None


# -- fit ------------------------------------------------------------------------------------


def machine(vram: float | None, ram: float = 128.0, device: str = "cuda") -> Hardware:
    """A made-up machine: a GPU with `vram` GB, all of it free (None: no GPU)."""
    if vram is None:
        device = "cpu" if device == "cuda" else device
    gpu = {"cuda": "Made-up GPU", "mps": "Apple M3 Max GPU", "cpu": ""}[device]
    return Hardware(device, gpu, vram, vram, "8.9" if device == "cuda" else "", ram, ram, 500.0, "/cache", "2.13.0")


REGISTRY = load_registry()
DIFFUSION = list(REGISTRY.entries.values())
PLAN_VERDICT = {"none": FITS, "model": FITS_OFFLOADED, "group": FITS_OFFLOADED, "sequential": TOO_BIG}


@pytest.mark.parametrize("vram", [0, 8, 12, 16, 24, 48, 80])
@pytest.mark.parametrize("entry", DIFFUSION, ids=lambda entry: entry.id)
def test_the_verdict_is_what_the_memory_plan_would_do_on_each_gpu(entry, vram):
    """FITS where the render runs it whole, FITS_OFFLOADED where it picks model or group offload,
    TOO_BIG where only sequential offload is left: for every model on every card."""
    verdict = fit(entry, machine(vram))
    plan = plan_memory(entry, MachineFacts("cuda", vram, vram, ram_gb=128.0))
    assert verdict.verdict == PLAN_VERDICT[plan.offload], (entry.id, vram, plan.offload, verdict.reason)
    assert verdict.needs == needs(entry) and verdict.runs == (verdict.verdict != TOO_BIG)
    assert f"{vram:.0f} GB free" in verdict.reason
    assert verdict.cost == (SEQUENTIAL_COST if verdict.verdict == TOO_BIG else "")
    assert "--" not in verdict.reason + verdict.cost  # the window shows these: never a command-line flag


def test_figures_and_reasons_on_a_few_cards():
    wan5b = REGISTRY.get("wan2.2-ti2v-5b")
    assert memory_text(fit(wan5b, machine(80)).needs) == "48 / 24 / 16 GB" == fit(wan5b, machine(80)).memory
    assert fit(wan5b, machine(80)) == Fit(FITS, "needs 48 GB of GPU memory (full); 80 GB free", needs(wan5b))
    # Below 32 GB the denoiser is stored in float8: 24 GB less half the 10 GB transformer.
    assert fit(wan5b, machine(24)).reason == \
        "needs 19 GB with fp8 weights (24 GB in bf16) of GPU memory (model offload); 24 GB free"
    assert fit(wan5b, machine(48)).reason == "needs 24 GB of GPU memory (model offload); 48 GB free"
    small = fit(wan5b, machine(12))
    assert small.verdict == TOO_BIG and small.reason == \
        "needs a GPU with 16 GB (group offload) plus 10%; this one has 12 GB free"
    assert "10x slower" in small.cost


def test_without_a_gpu_every_diffusion_model_is_too_big_and_says_what_the_processor_costs():
    for entry in DIFFUSION:
        verdict = fit(entry, machine(None, ram=32.0))
        smallest = entry.vram_gb["group_offload"]
        assert verdict.verdict == TOO_BIG and verdict.runs is False
        assert verdict.reason == f"needs a GPU with {smallest:g} GB (group offload); this machine has none"
        assert verdict.cost.startswith("on the processor: hours per clip")
    wan5b = fit(REGISTRY.get("wan2.2-ti2v-5b"), machine(None, ram=32.0))
    assert "about 48 GB of RAM (this machine has 32 GB: it may not load at all)" in wan5b.cost
    instant = fit(REGISTRY.get("instant"), machine(None))
    assert instant.verdict == FITS and instant.needs == () and instant.memory == "none"


def test_host_ram_too_small_to_load_is_too_big_even_on_a_large_gpu():
    a14b = REGISTRY.get("wan2.2-i2v-a14b")  # 69.1 GB of weights in RAM while loading
    verdict = fit(a14b, machine(80, ram=64.0))
    assert verdict.verdict == TOO_BIG and verdict.reason.startswith("needs 69.1 GB of RAM to load its weights")
    assert "this machine has 64 GB" in verdict.reason
    assert fit(a14b, machine(80, ram=96.0)).verdict == FITS_OFFLOADED


def test_apple_silicon_runs_a_model_whole_in_the_memory_metal_allows():
    wan5b, svd = REGISTRY.get("wan2.2-ti2v-5b"), REGISTRY.get("svd-xt")
    mac64 = machine(hw.apple_gpu_gb(64.0), ram=64.0, device="mps")  # 48 GB usable
    assert fit(svd, mac64).verdict == FITS
    big = fit(wan5b, mac64)
    assert big.verdict == TOO_BIG and "this Mac's GPU can use about 48 GB" in big.reason and big.cost
    assert fit(wan5b, machine(hw.apple_gpu_gb(128.0), ram=128.0, device="mps")).verdict == FITS


# -- the default a new user gets ------------------------------------------------------------------


def verdicts(vram):
    return {entry.id: fit(entry, machine(vram)) for entry in REGISTRY.models.values()}


def test_the_default_is_never_a_model_that_cannot_run_here():
    everything = set(REGISTRY.models)
    entries = list(REGISTRY.models.values())
    pick = lambda vram, here, fast=frozenset(): suggest(entries, verdicts(vram), here, fast, REGISTRY.default,
                                                         REGISTRY.fallback)
    # No GPU: nothing but the instant engine runs, whatever is downloaded.
    assert pick(None, everything) == ("instant", "standard")
    # Nothing downloaded: a render never downloads, so the default must be here already.
    assert pick(80, set()) == ("instant", "standard")
    # A big GPU with everything here: the registry's curated default.
    assert pick(80, everything) == ("wan2.2-ti2v-5b", "standard")
    # The registry default is missing: what fits whole comes before what needs offload.
    assert pick(80, everything - {"wan2.2-ti2v-5b"}) == ("ltx-video-2b-distilled", "standard")
    # A 12 GB card: Wan2.2 5B is too big there; the models that fit with offload, fast where ready.
    assert pick(12, everything) == ("ltx-video-2b-distilled", "standard")
    assert pick(12, everything, {"ltx-video-2b-distilled"}) == ("ltx-video-2b-distilled", "fast")
    assert pick(12, {"svd-xt"}) == ("svd-xt", "standard")  # offloaded, but no fast tier
    # 8 GB: too small for any of them.
    assert pick(8, everything) == ("instant", "standard")
    # 24 GB: Wan2.2 5B with model offload; it has no fast tier.
    assert pick(24, everything) == ("wan2.2-ti2v-5b", "standard")
