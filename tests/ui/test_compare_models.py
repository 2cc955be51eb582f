"""Compare in one action in the real window (issue 16): Compare… asks what varies, lists the models
that cannot run here greyed with why, queues one job per take with one seed, and once every take is
saved selects them and opens the compare view with their labels; Pick picks one. Too few takes left
is said in one line."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from i2v_desktop.ui.state import Status

QUICK = dict(preset="push-in", duration=0.5, fps=8.0, aspect="1:1", quality="draft", variants=3, model="instant",
             seed=None)


def add(qtbot, window, samples: Path, name: str) -> str:
    path = str((samples / name).resolve())
    window.add_paths([Path(path)])
    qtbot.waitUntil(lambda: window.state.photos and window.state.photos[0].status == Status.READY, timeout=10_000)
    return path


def open_dialog(qtbot, window):
    window.compare_action.trigger()
    qtbot.waitUntil(lambda: window.comparing.dialog is not None and window.comparing.dialog.isVisible())
    return window.comparing.dialog


def test_compare_two_presets_renders_two_takes_with_one_seed_and_compares_them(qtbot, make_window, samples):
    window = make_window()
    window.state.choose(**QUICK)
    photo = add(qtbot, window, samples, "coffee.jpg")
    dialog = open_dialog(qtbot, window)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    # Models: those that cannot run here are listed greyed, with why.
    dialog.set_kind("model")
    rows = [dialog.list.item(row) for row in range(dialog.list.count())]
    greyed = [item for item in rows if not item.flags() & Qt.ItemFlag.ItemIsEnabled]
    assert greyed and all("not downloaded" in item.text() or "too big" in item.text() for item in greyed)
    assert any(item.data(Qt.ItemDataRole.UserRole) == "instant" and item.flags() & Qt.ItemFlag.ItemIsEnabled
               for item in rows)
    dialog.set_kind("preset")
    assert dialog.values() == ["push-in"] and not ok.isEnabled()  # the current preset, one is not a comparison
    dialog.check(["push-in", "orbit"])
    assert ok.isEnabled() and ok.text() == "Render 2 takes"
    ok.click()
    jobs = [window.queue.job_at(row) for row in range(len(window.queue))]
    presets = [job.request.preset for job in jobs]
    assert sorted(presets) == ["orbit", "push-in"]  # in the list's order
    assert len({job.request.seed for job in jobs}) == 1 and all(job.request.variants == 1 for job in jobs)
    assert all(job.photo == photo for job in jobs)

    qtbot.waitUntil(lambda: window.views.currentWidget() is window.compare and window.compare.shown == 2,
                    timeout=120_000)
    labels = [label.text() for label in window.compare.labels[:2]]
    names = {preset.id: preset.name for preset in window.studio.presets()}  # "Push in", as the presets say
    assert labels[0].startswith(f"{names[presets[0]]} · ") and labels[1].startswith(f"{names[presets[1]]} · ")
    assert all("score" in label for label in labels)
    compared = [entry.id for entry in window.viewer._compared]
    assert window.viewer.strips.current().selection == compared  # the takes are the selection
    window.compare.pick_buttons[1].click()
    [picked] = [e for e in window.studio.clips(photo) if e.starred]
    assert picked.id == compared[1] and picked.preset == presets[1]


def test_a_compare_with_one_take_left_says_so_in_one_line(qtbot, make_window, samples):
    window = make_window()
    window.state.choose(**{**QUICK, "duration": 6.0, "fps": 24.0, "quality": "standard"})
    add(qtbot, window, samples, "coffee.jpg")
    jobs = window.comparing.start("quality", ["draft", "standard"])
    assert len(jobs) == 2 and [job.request.quality for job in jobs] == ["draft", "standard"]
    qtbot.waitUntil(lambda: window.queue.current is not None and window.queue.current.id == jobs[0].id)
    window.queue.remove(jobs[1].id)  # the second never runs
    qtbot.waitUntil(lambda: not window.queue.busy, timeout=120_000)
    line = window.banner.text.text()
    assert "Nothing to compare: 1 take of 2 made" in line and "\n" not in line
    assert window.views.currentWidget() is not window.compare


def test_a_compare_with_a_take_gone_compares_the_two_left_and_says_so(qtbot, make_window, samples):
    window = make_window()
    window.state.choose(**{**QUICK, "variants": 1})
    add(qtbot, window, samples, "coffee.jpg")
    jobs = window.comparing.start("preset", ["push-in", "orbit", "pan-left"])
    window.queue.remove(jobs[2].id)  # taken off the queue before it ran
    qtbot.waitUntil(lambda: window.views.currentWidget() is window.compare and window.compare.shown == 2,
                    timeout=120_000)
    assert "Comparing 2 of 3 takes: the others failed or were cancelled" in window.banner.text.text()
    assert [e.preset for e in window.viewer._compared] == ["push-in", "orbit"]
