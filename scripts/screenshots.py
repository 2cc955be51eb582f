"""Screenshots of the main window at 1280×800: empty, with a batch loaded, during a render with its
preview, and with variants (light and dark); then the variants on the screens of small laptops,
1280×720 and 1366×768 (light and dark), as the window fits itself into them (less a title bar);
then the Models page and Help > This machine, light and dark; then Render > Batch… on a manifest
with a bad row, mid-run and after it (light and dark); then the LoRA section at 1280×720 and
1920×1080; then keyframes in the framing view at 1280×720 and 1920×1080, and greyed on a diffusion
model; then Compare… with four presets (the dialog, and the compare grid) and the clip settings'
End on row, each at 1280×720 and 1920×1080. Written to docs/screenshots/.

    .venv/bin/python scripts/screenshots.py          # all of them
    .venv/bin/python scripts/screenshots.py batch    # the batch dialog only
    .venv/bin/python scripts/screenshots.py loras    # the LoRA section only
    .venv/bin/python scripts/screenshots.py keyframes  # the keyframes in the framing view only
    .venv/bin/python scripts/screenshots.py compare  # Compare… and the End on row only
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HOME = tempfile.mkdtemp(prefix="i2v-screenshots-")
os.environ.update(XDG_DATA_HOME=f"{HOME}/data", XDG_CONFIG_HOME=f"{HOME}/config", HF_HUB_OFFLINE="1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QRect, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication, QScrollArea  # noqa: E402

from i2v_desktop.app import keep_singletons_alive, make_studio  # noqa: E402
from stalls import wait  # noqa: E402
from i2v_desktop.core.events import StepProgress  # noqa: E402
from i2v_desktop.core.resources import resource_path  # noqa: E402
from i2v_desktop.ui.batch import fitting_size  # noqa: E402
from i2v_desktop.ui.theme import apply_palette, apply_theme  # noqa: E402
from i2v_desktop.ui.window import MainWindow  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = resource_path("samples")
OUT = ROOT / "docs" / "screenshots"
SMALL_SCREENS = ((1280, 720), (1366, 768))


def settle(app: QApplication, seconds: float = 0.4) -> None:
    end = time.perf_counter() + seconds
    wait(app, lambda: time.perf_counter() > end)


def shoot(window, name: str) -> None:  # the main window, or one of its dialogs
    path = OUT / f"{name}.png"
    window.grab().save(str(path))
    print(path.relative_to(ROOT))


def shoot_model_pages(app: QApplication, window: MainWindow) -> None:
    """The Models page and This machine, as this machine shows them, in both palettes."""
    page = window.models.open_models()
    wait(app, lambda: bool(page.rows) and not page.status.text().startswith("Reading"))
    machine = window.models.open_machine()
    wait(app, lambda: bool(machine.suggestion.text()))
    for dark in (False, True):
        apply_palette(app, dark=dark)
        settle(app)
        shoot(page, "models-dark" if dark else "models")
        shoot(machine, "machine-dark" if dark else "machine")
    # A model whose licence has terms that depend on the user, and that makes sound.
    page.findChild(QScrollArea).ensureWidgetVisible(page.rows["ltx-2.3-22b"], 0, 0)
    settle(app)
    shoot(page, "models-ltx2-dark")
    machine.close()
    page.close()
    apply_palette(app, dark=False)


def shoot_batch_dialog(app: QApplication, window: MainWindow) -> None:
    """Render > Batch… on a manifest of the samples with one row whose photo is missing: mid-run, once
    a row has ended, then after the run, light and dark."""
    folder = Path(HOME) / "catalogue"
    folder.mkdir()
    names = sorted(p.name for p in SAMPLES.glob("*.jpg"))
    for name in names:
        shutil.copy(SAMPLES / name, folder / name)
    with open(folder / "catalogue.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["photo", "preset", "prompt"])
        writer.writerow([names[0], "orbit", ""])
        writer.writerow(["spring-collection-hero-shot.jpg", "", ""])  # not there: the row says so
        for name, preset in zip(names[1:], ("push-in", "pan-left", "orbit")):
            writer.writerow([name, preset, "soft studio light"])
    # The user has chosen before: the machine's first-run suggestion, if it lands during the run,
    # must not change the settings (and so every row's key) under the shot.
    QSettings(f"{HOME}/config/settings.ini", QSettings.Format.IniFormat).setValue("choices/model", "instant")
    window.state.choose(preset="orbit", intensity=0.6, aspect="1:1", duration=1.0, fps=12.0, variants=1,
                        quality="draft", model="instant")
    window.batch_action.trigger()
    dialog = window.batch_dialog
    dialog.set_source(folder / "catalogue.csv")
    wait(app, lambda: dialog.plan is not None)
    dialog.start()
    # The size it takes on a 1280x720 laptop screen (the offscreen screen is smaller).
    dialog.resize(fitting_size(QRect(0, 0, 1280, 720 - 32)))
    wait(app, lambda: dialog.table.rows.count("done") >= 1)
    settle(app)
    shoot(dialog, "batch-dialog-running")
    wait(app, lambda: not dialog.running)
    for dark in (False, True):
        apply_palette(app, dark=dark)
        settle(app)
        shoot(dialog, "batch-dialog-dark" if dark else "batch-dialog")
    apply_palette(app, dark=False)
    dialog.close()


def write_lora(path: Path, width: int, rank: int, blocks: int = 30, block_name: str = "blocks") -> None:
    """A LoRA file in the diffusers/PEFT layout for `width`-wide attention (random weights): Wan's
    blocks, or LTX's ("transformer_blocks")."""
    rng = np.random.default_rng(len(path.name))
    header, blobs, offset = {}, [], 0
    for block in range(blocks):
        for proj in ("to_q", "to_k", "to_v", "to_out.0"):
            for name, shape in (("lora_A", (rank, width)), ("lora_B", (width, rank))):
                data = rng.standard_normal(shape).astype(np.float16).tobytes()
                header[f"transformer.{block_name}.{block}.attn1.{proj}.{name}.weight"] = {
                    "dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
                blobs.append(data)
                offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def shoot_loras(app: QApplication, window: MainWindow) -> None:
    """The LoRA section with four LoRAs in the LoRA folder: three for Wan (one the high-noise half of a
    Wan2.2 A14B pair) and one for LTX. At 1280×720 on Wan2.2 TI2V-5B (the LTX one greyed, its reason
    on its row; one checked at 0.80), at 1920×1080 on LTX-2 19B with Push in, whose camera LoRA row
    shows; the clip settings scrolled to the section."""
    folder = window.studio.lora_folder()
    write_lora(folder / "film-grain-35mm.safetensors", 3072, 16)
    write_lora(folder / "slow-push-in-v2.safetensors", 3072, 32)
    write_lora(folder / "ltx2-dolly-left.safetensors", 4096, 16, blocks=48, block_name="transformer_blocks")
    write_lora(folder / "orbit-a14b_high_noise.safetensors", 5120, 8, blocks=40)
    window.add_paths([SAMPLES / "coffee.jpg"])
    wait(app, lambda: bool(window.state.photos) and window.state.photos[0].status.value == "ready")
    for (width, height), model in (((1280, 720), "wan2.2-ti2v-5b"), ((1920, 1080), "ltx-2-19b")):
        window.state.choose(preset="push-in", model=model, variants=1)
        wait(app, lambda: not window.state.lora_checking and len(window.loras.rows) == 4, timeout=60.0)
        if model.startswith("wan"):
            push = next(view for view in window.loras.rows.values()
                        if view.row.name.startswith("slow-push-in"))
            push.check.click()
            push.slider.setValue(16)  # 0.80
        screen = QRect(0, 0, width, height)
        window.setGeometry(screen)
        window.fit_to(screen)
        settle(app)
        window.settings_panel.scroll.ensureWidgetVisible(window.loras, 0, 0)
        settle(app)
        shoot(window, f"loras-{width}x{height}")


def shoot_keyframes(app: QApplication, window: MainWindow) -> None:
    """The framing view with keyframes on the coffee photo: at 1280×720 a 16:9 move from the whole
    frame (A) through a middle framing (M) to a push in on the cup (B); at 1920×1080 a 9:16 pan with
    the loop's way back drawn; then greyed, with its reason, on Wan2.2 TI2V-5B."""
    from i2v_desktop.core.keyframes import Framing

    window.add_paths([SAMPLES / "coffee.jpg"])
    photo = str(SAMPLES / "coffee.jpg")
    wait(app, lambda: window.state.photo(photo) is not None and window.state.photo(photo).status.value == "ready")
    window.state.select(photo)
    pane = window.viewer.framing_pane
    shots = (((1280, 720), "16:9", False, "instant", "keyframes-1280x720"),
             ((1920, 1080), "9:16", True, "instant", "keyframes-1920x1080"),
             ((1280, 720), "16:9", False, "wan2.2-ti2v-5b", "keyframes-greyed-1280x720"))
    for (width, height), aspect, loop, model, name in shots:
        window.state.choose(model="instant", aspect=aspect, loop=loop, variants=1)
        window.viewer.show_framing_view()
        settle(app)
        window.state.update_photo(photo, keyframes=())
        pane.toggle.click()  # A: the crop as it is; B: a push in on the subject
        if aspect == "16:9":
            start, end = window.state.photo(photo).keyframes
            pane.middle.click()
            middle = Framing(min(1.0, start.x + 0.12), max(0.0, start.y - 0.08), (start.width + end.width) / 2 + 0.1)
            window.state.update_photo(photo, keyframes=(start, middle, end))
        else:
            start, end = window.state.photo(photo).keyframes
            window.state.update_photo(photo, keyframes=(Framing(0.2, start.y, 0.8), end))
        window.state.choose(model=model)
        screen = QRect(0, 0, width, height)
        window.setGeometry(screen)
        window.fit_to(screen)
        settle(app, 0.8)
        shoot(window, name)


def shoot_compare(app: QApplication, window: MainWindow) -> None:
    """Compare… on the instant engine: the dialog with four presets checked, then the four takes in
    the compare grid, labelled; then the End on row of Wan2.1 FLF2V with an end photo chosen."""
    coffee = str((SAMPLES / "coffee.jpg").resolve())
    window.add_paths([Path(coffee)])
    wait(app, lambda: (photo := window.state.photo(coffee)) is not None and photo.status.value == "ready")
    window.state.select(coffee)
    window.state.choose(preset="push-in", intensity=0.6, aspect="16:9", duration=2.0, fps=None, variants=1,
                        model="instant", quality="draft", seed=7, loop=False)
    window.compare_action.trigger()
    dialog = window.comparing.dialog
    dialog.set_kind("preset")
    dialog.check(["push-in", "orbit", "pan-left", "pull-out"])
    settle(app)
    shoot(dialog, "compare-dialog")
    dialog.accept()
    print(f"{len(window.queue)} takes queued", flush=True)
    wait(app, lambda: window.views.currentWidget() is window.compare and window.compare.shown == 4, timeout=300.0)
    for width, height in ((1280, 720), (1920, 1080)):
        screen = QRect(0, 0, width, height)
        window.setGeometry(screen)
        window.fit_to(screen)
        settle(app)
        window.compare.pause()
        window.compare.seek(36)
        settle(app, 0.8)
        shoot(window, f"compare-{width}x{height}")
    window.state.choose(model="wan2.1-flf2v-14b-720p")
    window.state.update_photo(coffee, end_image=str((SAMPLES / "rocket.jpg").resolve()))
    window.viewer.show_framing_view()
    for width, height in ((1280, 720), (1920, 1080)):
        screen = QRect(0, 0, width, height)
        window.setGeometry(screen)
        window.fit_to(screen)
        settle(app)
        window.settings_panel.scroll.ensureWidgetVisible(window.settings_panel.end_row, 0, 40)
        settle(app)
        shoot(window, f"end-frame-{width}x{height}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    keep_singletons_alive()  # PySide6 6.12 on Python < 3.12: see app.py
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    window = MainWindow(make_studio(), QSettings(f"{HOME}/config/settings.ini", QSettings.Format.IniFormat),
                        probe=True)
    window.setGeometry(0, 0, 1280, 800)
    window.show()
    settle(app)
    window.setGeometry(0, 0, 1280, 800)  # after the fit to the (offscreen) screen that follows the show
    settle(app)
    modes = {"batch": shoot_batch_dialog, "loras": shoot_loras, "keyframes": shoot_keyframes, "compare": shoot_compare}
    if len(sys.argv) == 2 and sys.argv[1] in modes:
        modes[sys.argv[1]](app, window)
        window.close()
        return 0
    shoot(window, "empty")

    window.add_paths([SAMPLES])
    wait(app, lambda: len(window.state.photos) == 4 and all(p.status.value == "ready" for p in window.state.photos))
    window.state.select(str(SAMPLES / "coffee.jpg"))
    window.state.choose(preset="orbit", intensity=0.6, aspect="9:16", duration=3.0, fps=None, variants=3, model="instant")
    settle(app)
    shoot(window, "batch")

    shots = {"taken": False}

    def during(job, event) -> None:
        if isinstance(event, StepProgress) and event.step >= event.total // 2 and not shots["taken"] \
                and event.preview is not None and window.player.frame_count:
            shots["taken"] = True
            shoot(window, "rendering")

    window.queue.event.connect(during)
    window.generate()
    wait(app, lambda: not window.queue.busy and not window.queue.pending)
    window.queue.event.disconnect(during)
    window.state.select(str(SAMPLES / "coffee.jpg"))
    settle(app)
    first = window.variants.entries()[0]
    window.variants.set_starred(first.id, True, announce=True)  # as a click on its star does
    window.variants.select(first.id)
    wait(app, lambda: window.player.frame_count == 72)
    window.player.pause()
    window.player.seek(36)
    settle(app, 0.8)
    shoot(window, "variants")
    apply_palette(app, dark=True)
    settle(app)
    shoot(window, "variants-dark")
    for width, height in SMALL_SCREENS:
        screen = QRect(0, 0, width, height)
        window.setGeometry(screen)  # as big as the screen, then fitted into it as the window does
        window.fit_to(screen)
        for dark in (False, True):
            apply_palette(app, dark=dark)
            settle(app)
            shoot(window, f"variants-{width}x{height}" + ("-dark" if dark else ""))
    shoot_model_pages(app, window)
    shoot_batch_dialog(app, window)
    shoot_loras(app, window)
    shoot_keyframes(app, window)
    shoot_compare(app, window)
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
