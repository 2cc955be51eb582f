"""The memory plan as a pure function of the machine's facts: any card, any RAM, on a CPU."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from i2v_desktop.engine import device as dev
from i2v_desktop.engine.device import (
    DevicePlan,
    MachineFacts,
    is_out_of_memory,
    lighter,
    plan_memory,
    ram_need_gb,
    read_facts,
    simulate_card,
    vram_need_gb,
)
from i2v_desktop.engine.registry import load_registry
from i2v_desktop.engine.speed import fp8_weights

GB = 1024**3


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def cuda(total, free, held=0.0, ram=256.0, ram_held=0.0, bf16=True) -> MachineFacts:
    return MachineFacts("cuda", total, free, held, ram, ram_held, bf16)


def test_our_own_loaded_pipeline_counts_as_free_so_the_plan_does_not_change(registry):
    """Defect 2: after the first job the pipeline holds most of the card; the plan must not move."""
    svd = registry.get("svd-xt")
    before = plan_memory(svd, cuda(total=24, free=23))
    loaded = plan_memory(svd, cuda(total=24, free=5, held=18))
    assert before.offload == "none"
    assert loaded == before
    # Without counting what it holds, the same card would look full: the reload the fix prevents.
    assert plan_memory(svd, cuda(total=24, free=5)).offload != before.offload


def test_host_ram_also_counts_what_our_pipeline_holds(registry):
    wan14 = registry.get("wan2.1-i2v-14b-480p")
    assert plan_memory(wan14, cuda(total=24, free=23, ram=10, ram_held=50)).warning == ""
    assert "RAM" in plan_memory(wan14, cuda(total=24, free=23, ram=10)).warning


@pytest.mark.parametrize(
    "model, total, free, mode",
    [
        ("wan2.2-ti2v-5b", 141, 139, "none"),
        ("wan2.2-ti2v-5b", 48, 46, "model"),
        ("wan2.2-i2v-a14b", 80, 79, "model"),  # 80 GB of weights and activations do not fit 79 with margin
        ("wan2.2-i2v-a14b", 141, 139, "none"),
        ("wan2.1-i2v-14b-720p", 40, 39, "group"),
        ("svd-xt", 8, 7.5, "sequential"),
    ],
)
def test_the_fastest_mode_that_fits_with_a_margin(registry, model, total, free, mode):
    plan = plan_memory(registry.get(model), cuda(total, free))
    assert plan.offload == mode
    assert plan.vae_tiling == (mode != "none")
    assert plan.warning == ""


def test_fp8_storage_comes_from_the_speed_rule_and_lowers_the_need(registry):
    wan5 = registry.get("wan2.2-ti2v-5b")
    small = plan_memory(wan5, cuda(total=24, free=22))
    assert small.fp8 is fp8_weights("cuda", 24) is True
    # 24 GB with model offload, less half the 10 GB transformer: fits 22 GB free where bf16 would not.
    assert vram_need_gb(wan5, "model", fp8=True) == pytest.approx(24 - 5)
    assert small.offload == "model" and "fp8" in small.describe()
    assert plan_memory(wan5, cuda(total=40, free=22)).offload == "group"  # no fp8 on a 40 GB card
    a14b = registry.get("wan2.2-i2v-a14b")
    assert vram_need_gb(a14b, "none", fp8=True) == pytest.approx(80 - 28.6)  # both experts on the GPU
    assert vram_need_gb(a14b, "model", fp8=True) == pytest.approx(40 - 14.3)  # one expert at a time
    assert vram_need_gb(a14b, "group", fp8=True) == vram_need_gb(a14b, "group", fp8=False)


def test_bf16_only_where_the_gpu_has_it_natively(registry):
    wan5 = registry.get("wan2.2-ti2v-5b")
    assert plan_memory(wan5, cuda(141, 139, bf16=True)).dtype == "bfloat16"
    assert plan_memory(wan5, cuda(141, 139, bf16=False)).dtype == "float16"


def test_group_offload_pins_every_weight_only_where_ram_holds_two_copies(registry):
    wan14 = registry.get("wan2.1-i2v-14b-480p")
    assert ram_need_gb(wan14, "group", pinned=True) == pytest.approx(2 * wan14.ram_gb)
    roomy = plan_memory(wan14, cuda(total=24, free=23, ram=128))
    assert (roomy.offload, roomy.pinned, roomy.warning) == ("group", True, "")
    desktop = plan_memory(wan14, cuda(total=24, free=23, ram=62))
    assert (desktop.offload, desktop.pinned, desktop.warning) == ("group", False, "")


def test_what_will_not_fit_in_ram_is_said_in_one_line_before_loading(registry):
    a14b = registry.get("wan2.2-i2v-a14b")
    plan = plan_memory(a14b, cuda(total=24, free=23, ram=60))
    line = plan.warning
    assert a14b.name in line and "69 GB of RAM" in line and "60 GB" in line and "\n" not in line
    assert "smaller model" in line


def test_a_forced_mode_that_cannot_fit_is_said_and_kept(registry):
    wan14 = registry.get("wan2.1-i2v-14b-480p")
    plan = plan_memory(wan14, cuda(total=40, free=39), offload="none")
    assert plan.offload == "none"
    assert "offload none needs about 80 GB of GPU memory" in plan.warning and "auto would choose group" in plan.warning


def test_cpu_and_apple_plans(registry):
    wan5 = registry.get("wan2.2-ti2v-5b")
    cpu = plan_memory(wan5, MachineFacts("cpu", 16, 16, 0, 16, 0, False))
    assert (cpu.dtype, cpu.offload, cpu.vae_tiling, cpu.fp8) == ("float32", "none", True, False)
    mps = plan_memory(wan5, MachineFacts("mps", 48, 48, 0, 64, 0, True))
    assert (mps.dtype, mps.offload, mps.fp8) == ("bfloat16", "none", False)


def test_the_ladder_after_out_of_memory():
    plan = DevicePlan("cuda", "bfloat16", "none", False, 20.0, 24.0, True, True)
    steps = []
    while plan is not None:
        steps.append((plan.offload, plan.vae_tiling))
        plan = lighter(plan)
    assert steps == [("none", False), ("model", True), ("group", True), ("sequential", True)]
    # Already at the bottom, only the tiling is left; with it on there is nothing lighter.
    assert lighter(DevicePlan("cuda", "bfloat16", "sequential", False, 20.0)).vae_tiling is True
    # Apple silicon shares one memory: offloading frees nothing, tiling still helps.
    mps = lighter(DevicePlan("mps", "bfloat16", "none", False, 20.0))
    assert (mps.offload, mps.vae_tiling) == ("none", True) and lighter(mps) is None


def test_pinning_follows_the_plan_down_the_ladder():
    plan = DevicePlan("cuda", "bfloat16", "model", True, 20.0, 24.0, False, False, "a warning")
    group = lighter(plan)
    assert (group.offload, group.pinned, group.warning) == ("group", False, "")
    assert lighter(replace(plan, pinned=True)).pinned is True
    assert lighter(replace(group, pinned=True)).pinned is False  # sequential never pins


@pytest.mark.parametrize(
    "exc, oom",
    [
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
        (RuntimeError("CUDA error: out of memory"), True),
        (RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"), True),
        (RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"), True),
        (RuntimeError("MPS backend out of memory (MPS allocated: 17.00 GB)"), True),
        (RuntimeError("shapes cannot be multiplied"), False),
        (ValueError("out of memory"), False),
    ],
)
def test_out_of_memory_is_recognised_however_it_arrives(exc, oom):
    assert is_out_of_memory(exc) is oom


def test_a_simulated_smaller_card_is_what_the_plan_reads(monkeypatch):
    """simulate_card caps the process; read_facts must see the cap, not the physical card."""
    physical, fraction = 141 * GB, {}
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: type("P", (), {"total_memory": physical}))
    monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction", lambda f, index: fraction.update(f=f))
    monkeypatch.setattr(torch.cuda, "get_per_process_memory_fraction", lambda: fraction.get("f", 1.0))
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (130 * GB, physical))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda: 3 * GB)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda: 3 * GB)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: not including_emulation)
    assert read_facts("cuda").total_gb == pytest.approx(141)
    assert simulate_card(24) == pytest.approx(24 / 141)
    facts = read_facts("cuda")
    assert facts.total_gb == pytest.approx(24) and facts.free_gb == pytest.approx(21)  # 3 GB already reserved
    assert facts.bf16 is True  # asked without emulation
    assert plan_memory(load_registry().get("wan2.2-ti2v-5b"), facts).fp8 is True


def test_host_ram_is_read_from_the_system():
    ram = dev.host_ram_gb()
    assert ram is None or 0 < ram < 1 << 20


def test_every_built_in_model_has_its_memory_figures_with_a_source(registry):
    for entry in registry.entries.values():
        assert entry.ram_gb > 0 and entry.denoiser_gb > 0, entry.id
        assert entry.ram_gb >= entry.denoiser_gb * entry.denoisers, entry.id
        assert any(source.startswith("Host RAM") for source in entry.sources), entry.id
    assert registry.get("wan2.2-i2v-a14b").denoisers == 2
