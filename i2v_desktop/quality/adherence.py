"""The match between the camera move a preset asks for and the one a clip makes (motion.py
estimates it): a 0..1 rating with its one-line reason for the scorecard, and the early warning's
words for a preview that is clearly doing something else."""

from __future__ import annotations

from dataclasses import dataclass

from .motion import LOCAL, STATIC, MotionEstimate, check_move

# Asked "static", a clip whose camera holds while the scene moves (wind in a static shot) keeps this
# much: the preset allows the scene's own motion.
STATIC_WITH_LOCAL = 0.85


@dataclass(frozen=True)
class Adherence:
    rating: float  # 0..1: how much of what the clip does is the asked move
    amount: float  # how much of the asked move the clip shows, % of the diagonal (static: camera motion)
    reason: str  # one line: "asked orbit, clip zooms in (3.1 %)"
    matched: bool  # the clip's class is the asked one (or an accepted stand-in)


def adherence(estimate: MotionEstimate, asked: str) -> Adherence:
    """How well the clip's estimated motion does the asked move, 0..1.

    A moving move: the asked move's share of all the camera's motion (0.5 to 1 where it is the
    clip's main move, below 0.5 where another move dominates, 0 where the clip goes the opposite
    way or holds still). Static: 1 for a still camera, falling as the camera moves. Local: the
    scene's own motion against the camera's.
    """
    check_move(asked, "asked move")
    found = estimate.describe()
    amounts = estimate.amounts()
    camera = sum(amounts.values())
    if asked == "static":
        if estimate.move == "static":
            return Adherence(1.0, estimate.camera(), "holds still, as asked", True)
        if estimate.move == "local":
            return Adherence(STATIC_WITH_LOCAL, estimate.camera(), "camera holds still; parts of the scene move", True)
        rating = 0.5 * STATIC / max(estimate.camera(), STATIC)
        return Adherence(rating, estimate.camera(), f"asked static, clip {found}", False)
    if asked == "local":
        if estimate.move == "local":
            return Adherence(0.5 + 0.5 * estimate.local / (estimate.local + camera), estimate.local,
                             "parts of the scene move, camera still, as asked", True)
        if estimate.move == "static":
            return Adherence(0.25 * min(1.0, estimate.local / LOCAL), estimate.local,
                             "asked motion in the scene, clip holds still", False)
        share = estimate.local / (estimate.local + camera)
        return Adherence(0.5 * share, estimate.local, f"asked a still camera with motion in the scene, clip {found}",
                         False)
    amount = amounts[asked]
    share = amount / max(camera, STATIC)
    if estimate.move == asked:
        return Adherence(0.5 + 0.5 * share, amount, f"{found}, as asked", True)
    if estimate.move in ("static", "local"):
        return Adherence(0.5 * share * min(1.0, amount / STATIC), amount, f"asked {asked}, clip {found}", False)
    return Adherence(0.5 * share, amount, f"asked {asked}, clip {found}", False)


def warning(estimate: MotionEstimate, asked: str | None) -> str | None:
    """A one-line warning for a preview still denoising whose motion disagrees with the asked
    move, or None. Only a clear disagreement speaks (a preview is small and noisy): the clip
    moves the opposite way, or it does another move than an asked orbit, by twice STATIC or more."""
    if asked is None or asked in ("static", "local") or estimate.move in ("static", "local", asked):
        return None
    if estimate.amounts()[estimate.move] < 2 * STATIC:  # a preview's noise can fake a small move
        return None
    opposite = {"zoom-in": "zoom-out", "zoom-out": "zoom-in", "pan-left": "pan-right", "pan-right": "pan-left",
                "tilt-up": "tilt-down", "tilt-down": "tilt-up"}
    if opposite.get(asked) == estimate.move:
        return f"moving the wrong way ({estimate.describe()}, asked {asked}): consider cancelling and reseeding"
    if asked == "orbit":
        return f"not orbiting (it {estimate.describe()}): consider cancelling and reseeding"
    return None
