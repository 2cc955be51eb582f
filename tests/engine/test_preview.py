"""Previews: x0 from the scheduler's state, projected to RGB with the family's table."""

from __future__ import annotations

import numpy as np
import torch

from i2v_desktop.engine.preview import LatentPreviewer, PreviewThrottle, estimate_x0
from i2v_desktop.engine.registry import load_latent_rgb, load_registry


def _step(scheduler, x0, noise, prediction):
    """Run one scheduler step with the exact model output for a known x0; return (before, after)."""
    t = scheduler.timesteps[0]
    sigma = float(scheduler.sigmas[0])
    if prediction == "flow":  # x_t = (1-σ)x0 + σ·noise, model predicts v = noise - x0
        sample = (1 - sigma) * x0 + sigma * noise
        output = noise - x0
    else:  # EDM / v-prediction as SVD's Euler scheduler: x_t = x0 + σ·noise
        sample = x0 + sigma * noise
        c_skip = 1 / (sigma**2 + 1)
        c_out = -sigma / (sigma**2 + 1) ** 0.5
        output = (x0 - c_skip * sample) / c_out
    after = scheduler.step(output, t, sample, return_dict=False)[0]
    return sample, after


def test_x0_from_two_euler_steps_of_flow_matching_is_exact():
    from diffusers import FlowMatchEulerDiscreteScheduler

    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0)
    scheduler.set_timesteps(8)
    x0, noise = torch.randn(2, 4, 3, 5, 5), torch.randn(2, 4, 3, 5, 5)
    before, after = _step(scheduler, x0, noise, "flow")
    torch.testing.assert_close(estimate_x0(scheduler, after, before), x0, atol=1e-4, rtol=1e-4)
    assert estimate_x0(scheduler, after, None) is None  # nothing to compare with at the first step


def test_x0_from_two_euler_steps_of_svd_scheduler_is_exact():
    from diffusers import EulerDiscreteScheduler

    scheduler = EulerDiscreteScheduler(
        prediction_type="v_prediction", use_karras_sigmas=True, sigma_min=0.002, sigma_max=700.0,
        timestep_type="continuous", interpolation_type="linear",
    )
    scheduler.set_timesteps(10)
    x0, noise = torch.randn(1, 3, 4, 6, 6), torch.randn(1, 3, 4, 6, 6)
    before, after = _step(scheduler, x0.double(), noise.double(), "edm")
    torch.testing.assert_close(estimate_x0(scheduler, after, before).float(), x0, atol=2e-3, rtol=1e-3)


def test_x0_from_unipc_is_its_own_prediction():
    from diffusers import UniPCMultistepScheduler

    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0)
    scheduler.set_timesteps(10)
    x0, noise = torch.randn(1, 16, 2, 4, 4), torch.randn(1, 16, 2, 4, 4)
    _, after = _step(scheduler, x0, noise, "flow")
    torch.testing.assert_close(estimate_x0(scheduler, after, None), x0, atol=1e-4, rtol=1e-4)


def test_each_model_has_a_table_for_its_latent_channels():
    channels = {"wan21": 16, "wan22": 48, "ltxv": 128, "sd15": 4}
    for key, count in channels.items():
        factors, bias = load_latent_rgb(key)
        assert len(factors) == count and all(len(row) == 3 for row in factors) and len(bias) == 3
    used = {entry.id: entry.preview for entry in load_registry().entries.values()}
    assert used["wan2.2-ti2v-5b"] == "wan22" and used["wan2.1-i2v-14b-480p"] == "wan21"
    assert used["ltx-video-2b-distilled"] == "ltxv" and used["svd-xt"] == "sd15"


def test_projection_shape_range_and_colour():
    previewer = LatentPreviewer("sd15", fps=7.0)
    latent = torch.zeros(4, 25, 9, 16)
    preview = previewer(latent)
    assert preview.frames.shape == (25, 9 * 20, 16 * 20, 3) and preview.frames.dtype == np.uint8
    assert preview.fps == 7.0
    # SD's first latent channel is mostly luminance: pushing it up brightens every colour.
    bright = previewer(latent + torch.tensor([2.0, 0, 0, 0])[:, None, None, None])
    assert (bright.frames.astype(int).mean(axis=(0, 1, 2)) > preview.frames.astype(int).mean(axis=(0, 1, 2))).all()


def test_unknown_latent_layout_still_previews():
    preview = LatentPreviewer("wan21", fps=4.0)(torch.randn(7, 3, 10, 10))
    assert preview.frames.shape[:1] == (3,) and preview.frames.shape[-1] == 3


def test_throttle_keeps_previews_to_their_share_of_the_time():
    throttle = PreviewThrottle(share=0.05)
    spent_on_steps = 0.0
    previews = 0
    for step in range(200):
        spent_on_steps += 1.0  # each step takes 1 s
        if throttle.due(spent_on_steps + throttle.spent):
            throttle.spent += 0.5  # a preview costs half a step
            throttle.last_cost = 0.5
            previews += 1
    assert throttle.spent <= 0.05 * (spent_on_steps + throttle.spent) + 0.5
    assert previews >= 15  # still often: about every 10 steps
