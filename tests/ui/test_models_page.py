"""The models page and This machine, on the real window and the app's own Studio (no weights in
the test cache: every diffusion model is not downloaded, and with no GPU here, too big)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from i2v_desktop.core.studio import BUILT_IN, TOO_BIG


def open_page(qtbot, window):
    window.models_action.trigger()
    page = window.models.page
    infos = window.studio.model_infos()
    qtbot.waitUntil(lambda: len(page.rows) == len(infos), timeout=30_000)
    return page, {info.id: info for info in infos}


def test_the_models_page_lists_every_model_with_its_state_licence_sizes_and_verdict(qtbot, make_window):
    window = make_window()
    page, infos = open_page(qtbot, window)
    assert page.isVisible() and list(page.rows) == list(infos)
    for info in infos.values():
        row = page.rows[info.id]
        assert row.title.text().startswith(f"{info.name}  ·  {info.family}")
        assert row.summary.text() == info.summary
        assert row.state.text() == info.state
        assert info.fit.reason in row.verdict.text()
        assert info.licence in row.licence.text() and info.commercial in row.licence.text()
        assert row.terms.isVisibleTo(page) == bool(info.terms)
    wan = page.rows["wan2.2-ti2v-5b"]
    assert wan.memory.text() == "48 / 24 / 16 GB (full / model offload / group offload)"
    assert wan.sizes.text() == "34.2 GB download · nothing on disk"
    if infos["wan2.2-ti2v-5b"].fit.verdict == TOO_BIG:
        assert wan.verdict.text().startswith("too big for this machine: ")
    assert wan.download.isVisibleTo(page) and wan.download.text() == "Download"
    assert not wan.delete.isEnabled()  # nothing of it on the disk
    assert not wan.pause.isVisibleTo(page) and not wan.progress.isVisibleTo(page)
    ltx = page.rows["ltx-video-2b-distilled"]
    assert "US$10M" in ltx.terms.text()  # its licence's terms depend on the user's revenue: on show
    instant = page.rows["instant"]
    assert infos["instant"].state == BUILT_IN and instant.state.text() == "built in"
    assert not instant.download.isVisibleTo(page) and not instant.delete.isVisibleTo(page)
    # The picker's tooltip gives the same memory figures as the page.
    combo = window.controls.model
    assert wan.memory.text() in combo.itemData(combo.findData("wan2.2-ti2v-5b"), Qt.ItemDataRole.ToolTipRole)

    # The picker's "Models…" opens the same page, read again.
    page.close()
    window.controls.manage.click()
    assert window.models.page is page and page.isVisible()


def test_this_machine_shows_the_profile_each_models_verdict_and_the_suggestion(qtbot, make_window):
    window = make_window()
    window.machine_action.trigger()
    dialog = window.models.machine_dialog
    hardware = window.studio.hardware()
    infos = window.studio.model_infos()
    qtbot.waitUntil(lambda: dialog.models.topLevelItemCount() == len(infos), timeout=30_000)
    assert dialog.values["torch"].text() == hardware.torch
    assert dialog.values["GPU"].text() == (hardware.gpu or "none")
    assert dialog.values["Compute capability"].text() == (hardware.compute_capability or "—")
    assert hardware.cache_dir in dialog.values["Free disk"].text()
    assert dialog.values["RAM"].text().startswith(f"{round(hardware.ram_gb, 1):g} GB")
    rows = {dialog.models.topLevelItem(i).text(0): dialog.models.topLevelItem(i) for i in range(len(infos))}
    for info in infos:
        assert info.fit.reason in rows[info.name].text(2)
    default = next(info for info in infos if info.default)
    assert dialog.suggestion.text().startswith(f"Suggested here: {default.name}")


def test_the_first_start_chooses_what_this_machine_suggests_and_says_so_once(qtbot, make_window):
    window = make_window(probe=True)
    qtbot.waitUntil(lambda: "This machine:" in window.banner.text.text(), timeout=30_000)
    machine = window.studio.machine()
    assert (window.state.choices.model, window.state.choices.quality) == (machine.default_model,
                                                                          machine.default_quality)
    button = window.banner.buttons[0]
    assert button.isVisible() and button.text() == "This machine…"
    button.click()
    dialog = window.models.machine_dialog
    qtbot.waitUntil(lambda: dialog.suggestion.text().startswith("Suggested here"), timeout=30_000)
    assert dialog.suggestion.text().endswith(f"at {machine.default_quality.capitalize()} quality")
    window.close()

    again = make_window(probe=True)
    qtbot.waitUntil(lambda: again.machine.text() != "Checking this machine…", timeout=30_000)
    qtbot.wait(50)
    assert "This machine:" not in again.banner.text.text()


def test_the_start_up_banner_never_invites_a_download_of_a_model_too_big(qtbot, make_window, settings_path):
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text("[choices]\nmodel=wan2.2-ti2v-5b\n[machine]\nshown=true\n")
    window = make_window(probe=True)
    qtbot.waitUntil(lambda: window.machine.text() != "Checking this machine…", timeout=30_000)
    fit = window.studio.model("wan2.2-ti2v-5b").fit
    if fit.verdict != TOO_BIG:
        return  # a machine with a GPU this big: the next test's case
    qtbot.waitUntil(lambda: "too big" in window.banner.text.text(), timeout=10_000)
    text = window.banner.text.text()
    assert fit.reason in text and "download" not in text.lower() and "--" not in text
    shown = [b.text() for b in window.banner.buttons if b.isVisible()]
    assert shown == ["Try anyway…", "Use Instant (2.5D, no AI model)"]
    window.banner.buttons[1].click()
    assert window.state.choices.model == "instant"
