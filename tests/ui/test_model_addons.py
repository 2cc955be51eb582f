"""The models page says what a model's download brings besides its weights (issue 18): its camera
LoRAs, the fast tier's LoRA, the tiny video decoder, one line each, in the model's details."""

from __future__ import annotations


def test_a_models_details_list_what_its_download_includes(qtbot, make_window):
    window = make_window()
    window.models_action.trigger()
    page = window.models.page
    infos = {info.id: info for info in window.studio.model_infos()}
    qtbot.waitUntil(lambda: len(page.rows) == len(infos), timeout=30_000)
    cameras = [info for info in infos.values()
               if any(line.startswith("camera LoRAs: ") for line in info.addons)]
    assert cameras, "some model's download brings camera LoRAs"
    for info in infos.values():
        row = page.rows[info.id]
        assert row.includes.isVisibleTo(page) == bool(info.addons)
        if info.addons:  # every line whole, one to a line, none only in a tooltip
            assert row.includes.text().split("\n") == list(info.addons)
    instant = page.rows["instant"]
    assert not infos["instant"].addons and not instant.includes.isVisibleTo(page)
