"""The motion presets' icons, painted rather than loaded from files.

They take the theme's text colour (light and dark alike), stay crisp at any device pixel ratio,
and animate on hover to show the motion they stand for. A user's own preset gets a generic icon.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap, QPolygonF, QRadialGradient

# -- icons ---------------------------------------------------------------------------------------
# Each painter draws on a 48 x 48 grid in `color`. `phase` (0..1) is the position in the hover
# animation; phase 0 is the resting icon, so a card looks the same before and after a hover.


def _pen(color: QColor, width: float = 2.6, alpha: float = 1.0) -> QPen:
    c = QColor(color)
    c.setAlphaF(c.alphaF() * alpha)
    pen = QPen(c, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _drift(phase: float) -> tuple[float, float]:
    """(offset -0.5..0.5, opacity) for a part that travels along its path and fades at the ends.

    Phase 0 is the middle of the path at full opacity (the resting icon); the jump back to the
    start happens while the part is nearly transparent, so the loop has no visible seam.
    """
    u = (phase + 0.5) % 1.0
    return u - 0.5, 0.15 + 0.85 * math.sin(math.pi * u)


def _arrow(p: QPainter, start: QPointF, tip: QPointF, pen: QPen, head: float = 6.0) -> None:
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawLine(start, tip)
    d = tip - start
    length = math.hypot(d.x(), d.y()) or 1.0
    ux, uy = d.x() / length, d.y() / length
    for sign in (1, -1):
        angle = math.radians(35) * sign
        bx = -(ux * math.cos(angle) - uy * math.sin(angle))
        by = -(ux * math.sin(angle) + uy * math.cos(angle))
        p.drawLine(tip, QPointF(tip.x() + bx * head, tip.y() + by * head))


def _arrowhead(p: QPainter, tip: QPointF, ux: float, uy: float, color: QColor, size: float = 6.5) -> None:
    """A filled triangle pointing along (ux, uy): for arrows whose shaft is a curve."""
    nx, ny = -uy, ux
    back = QPointF(tip.x() - ux * size, tip.y() - uy * size)
    tri = QPolygonF(
        [
            tip,
            QPointF(back.x() + nx * size * 0.55, back.y() + ny * size * 0.55),
            QPointF(back.x() - nx * size * 0.55, back.y() - ny * size * 0.55),
        ]
    )
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawPolygon(tri)


def _frame(p: QPainter, rect: QRectF, color: QColor, width: float = 2.2) -> None:
    p.setPen(_pen(color, width))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRoundedRect(rect, 2.5, 2.5)


def _zoom(p: QPainter, color: QColor, phase: float, inward: bool) -> None:
    """A small frame with four diagonal arrows: converging on it (push in) or leaving it (pull out)."""
    _frame(p, QRectF(17, 19.5, 14, 9), color)
    offset, alpha = _drift(phase)
    pen = _pen(color, alpha=alpha)
    for dx, dy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
        near = QPointF(24 + dx * 10.5, 24 + dy * 8.5)
        far = QPointF(24 + dx * 20, 24 + dy * 18)
        step = QPointF(dx * 5 * offset, dy * 5 * offset)
        if inward:
            _arrow(p, far - step, near - step, pen, head=5.5)
        else:
            _arrow(p, near + step, far + step, pen, head=5.5)


def _pan(p: QPainter, color: QColor, phase: float, direction: int) -> None:
    _frame(p, QRectF(5, 11, 38, 26), color)
    offset, alpha = _drift(phase)
    shift = direction * 8 * offset
    tail, tip = QPointF(24 - direction * 9 + shift, 24), QPointF(24 + direction * 9 + shift, 24)
    _arrow(p, tail, tip, _pen(color, alpha=alpha))


def _tilt_up(p: QPainter, color: QColor, phase: float) -> None:
    _frame(p, QRectF(11, 5, 26, 38), color)
    offset, alpha = _drift(phase)
    shift = -8 * offset
    _arrow(p, QPointF(24, 33 + shift), QPointF(24, 15 + shift), _pen(color, alpha=alpha))


def _orbit(p: QPainter, color: QColor, phase: float) -> None:
    """A ring around a ball (the subject), passing behind it, with an arrowhead travelling round."""
    cx, cy, rx, ry = 24.0, 29.0, 20.0, 9.5
    ball, radius = QPointF(cx, cy - 8.0), 7.0
    p.setPen(_pen(color, 2.2))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(cx, cy), rx, ry)
    # A gap in the ring's far side around the ball: the ring goes behind the subject.
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(0, 0, 0))
    p.drawEllipse(ball, radius + 2.5, radius + 2.5)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    p.setBrush(color)
    p.drawEllipse(ball, radius, radius)
    t = math.radians(60) + 2 * math.pi * phase  # front right at rest, moving left across the front
    x, y = cx + rx * math.cos(t), cy + ry * math.sin(t)
    dx, dy = -rx * math.sin(t), ry * math.cos(t)
    n = math.hypot(dx, dy) or 1.0
    _arrowhead(p, QPointF(x, y), dx / n, dy / n, color, size=7.5)


def _turntable(p: QPainter, color: QColor, phase: float) -> None:
    """A box on a round platform; the box turns (a quarter turn per cycle: the loop is seamless)."""
    cx, base, radius, height = 24.0, 34.0, 12.0, 16.0
    p.setPen(_pen(color, 2.0))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(cx, base + 1), 19.0, 7.0)
    angle = math.radians(20) + phase * math.pi / 2
    thetas = [angle + k * math.pi / 2 for k in range(4)]
    bottom = [QPointF(cx + radius * math.cos(t), base + radius * 0.35 * math.sin(t)) for t in thetas]
    top = [QPointF(pt.x(), pt.y() - height) for pt in bottom]
    # Clear the box's silhouette first: the platform's far rim must not show through the box.
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(0, 0, 0))
    for k in range(4):
        p.drawPolygon(QPolygonF([bottom[k], bottom[(k + 1) % 4], top[(k + 1) % 4], top[k]]))
    p.drawPolygon(QPolygonF(top))
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    hidden = min(range(4), key=lambda k: math.sin(thetas[k]))  # the far corner's edges
    p.setPen(_pen(color, 2.2))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPolygon(QPolygonF(top))
    for k in range(4):
        if k != hidden:
            p.drawLine(bottom[k], top[k])
            if (k + 1) % 4 != hidden:
                p.drawLine(bottom[k], bottom[(k + 1) % 4])
    _arrowhead(p, QPointF(cx - 10, base + 7.0), -1.0, -0.25, color, size=6.0)


def _wind(p: QPainter, color: QColor, phase: float) -> None:
    """Three wavy lines whose waves travel with the phase."""
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(_pen(color, 2.4))
    for y, x0, x1 in ((14.0, 8.0, 38.0), (24.0, 12.0, 42.0), (34.0, 6.0, 32.0)):
        path = QPainterPath()
        steps = 24
        for i in range(steps + 1):
            x = x0 + (x1 - x0) * i / steps
            yy = y + 2.6 * math.sin(2 * math.pi * (x / 15.0 - phase))
            if i == 0:
                path.moveTo(x, yy)
            else:
                path.lineTo(x, yy)
        p.drawPath(path)


def _static(p: QPainter, color: QColor, phase: float) -> None:
    """A camera on a tripod; its record light blinks slowly on hover (the scene moves, not it)."""
    p.setPen(_pen(color, 2.2))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRoundedRect(QRectF(10, 8, 22, 14), 2.5, 2.5)
    p.drawPolygon(QPolygonF([QPointF(32, 13), QPointF(39, 9.5), QPointF(39, 20.5), QPointF(32, 17)]))
    head = QPointF(21, 25)
    p.drawLine(QPointF(21, 22), head)
    for foot in (QPointF(9, 42), QPointF(21, 42), QPointF(33, 42)):
        p.drawLine(head, foot)
    light = QColor(color)
    light.setAlphaF(light.alphaF() * (0.55 + 0.45 * math.cos(2 * math.pi * phase)))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(light)
    p.drawEllipse(QPointF(15.5, 15), 2.4, 2.4)


def _subtle(p: QPainter, color: QColor, phase: float) -> None:
    """A small soft circle that breathes on hover."""
    radius = 11.0 * (1.0 + 0.14 * math.sin(2 * math.pi * phase))
    gradient = QRadialGradient(QPointF(24, 24), radius)
    for stop, alpha in ((0.0, 0.95), (0.55, 0.6), (1.0, 0.0)):
        c = QColor(color)
        c.setAlphaF(c.alphaF() * alpha)
        gradient.setColorAt(stop, c)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(gradient)
    p.drawEllipse(QPointF(24, 24), radius, radius)
    p.setPen(_pen(color, 1.6, alpha=0.45))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QPointF(24, 24), 16.5, 16.5)


def _generic(p: QPainter, color: QColor, phase: float) -> None:
    """A frame with a four-pointed sparkle: "some motion" for a preset we know nothing about."""
    _frame(p, QRectF(6, 10, 36, 28), color)
    scale = 1.0 + 0.18 * math.sin(2 * math.pi * phase)
    r, w = 9.0 * scale, 2.4 * scale
    star = QPolygonF()
    for k in range(8):
        t = k * math.pi / 4 - math.pi / 2
        d = r if k % 2 == 0 else w
        star.append(QPointF(24 + d * math.cos(t), 24 + d * math.sin(t)))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawPolygon(star)


_PAINTERS: dict[str, Callable[[QPainter, QColor, float], None]] = {
    "push-in": lambda p, c, t: _zoom(p, c, t, inward=True),
    "pull-out": lambda p, c, t: _zoom(p, c, t, inward=False),
    "pan-left": lambda p, c, t: _pan(p, c, t, -1),
    "pan-right": lambda p, c, t: _pan(p, c, t, 1),
    "tilt-up": _tilt_up,
    "orbit": _orbit,
    "turntable": _turntable,
    "wind": _wind,
    "static": _static,
    "subtle": _subtle,
}


def motion_icon(preset_id: str, size: int, color: QColor, dpr: float = 1.0, phase: float = 0.0) -> QPixmap:
    """The icon for `preset_id`, `size` logical pixels square, drawn in `color` at `dpr`.

    `phase` (0..1) is the moment in the hover animation; 0 is the resting icon.
    """
    pixmap = QPixmap(max(1, round(size * dpr)), max(1, round(size * dpr)))
    pixmap.setDevicePixelRatio(dpr)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / 48.0, size / 48.0)
    _PAINTERS.get(preset_id, _generic)(painter, color, phase % 1.0)
    painter.end()
    return pixmap
