"""The prompt library: a damaged file is set aside, never saved over; saves are durable."""

from __future__ import annotations

import json

import pytest

from i2v_desktop.core.errors import InputError
from i2v_desktop.storage import prompts as prompts_module
from i2v_desktop.storage.prompts import SCHEMA, PromptLibrary


def library_file(path, phrases) -> None:
    path.write_text(json.dumps({"schema": SCHEMA, "version": 1, "prompts": phrases}), encoding="utf-8")


@pytest.mark.parametrize("content, reason", [
    (b'{"schema": "i2v_desktop.prompts", "version": 1, "prompts": ["a", "b"', "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    (b'{"schema": "something else", "prompts": ["a"]}', "not a prompt library"),
    (b'{"schema": "i2v_desktop.prompts", "prompts": "a"}', "not a prompt library"),
    (b"[1, 2, 3]", "not a prompt library"),
])
def test_item3_a_damaged_library_is_set_aside_and_the_next_save_keeps_it(tmp_path, content, reason):
    path = tmp_path / "prompts.json"
    path.write_bytes(content)
    library = PromptLibrary(path)
    assert library.phrases() == []
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("prompts.json.damaged-")]
    assert len(aside) == 1 and aside[0].read_bytes() == content  # kept byte for byte
    assert library.problems == [f"prompt library damaged ({reason}), set aside as {aside[0].name}; "
                                "starting with no saved prompts"]
    library.add("slow dolly in")
    assert json.loads(path.read_text())["prompts"] == ["slow dolly in"]
    assert aside[0].read_bytes() == content  # the save did not touch what was set aside


def test_item3_a_second_damaged_file_in_the_same_second_gets_its_own_name(tmp_path, monkeypatch):
    monkeypatch.setattr(prompts_module.time, "strftime", lambda *_: "20260101-000000")
    path = tmp_path / "prompts.json"
    for content in (b"first{", b"second{"):
        path.write_bytes(content)
        PromptLibrary(path)
    kept = sorted(p.read_bytes() for p in tmp_path.iterdir() if ".damaged-" in p.name)
    assert kept == [b"first{", b"second{"] and not path.exists()


def test_item3_entries_that_are_not_text_are_skipped_and_the_original_kept(tmp_path):
    path = tmp_path / "prompts.json"
    library_file(path, ["rain on a window", 7, None, "  "])
    original = path.read_bytes()
    library = PromptLibrary(path)
    assert library.phrases() == ["rain on a window"]
    copies = [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert len(copies) == 1 and copies[0].read_bytes() == original and path.read_bytes() == original
    assert library.problems == [f"prompt library: 3 of its entries are not text; skipped them, the original "
                                f"kept as {copies[0].name}"]


def test_item3_a_damaged_library_that_cannot_be_moved_is_never_saved_over(tmp_path, monkeypatch):
    path = tmp_path / "prompts.json"
    path.write_bytes(b"{broken")
    real = prompts_module.commit_new

    def refused(tmp, target, companions=()):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(prompts_module, "commit_new", refused)  # a folder the user cannot write to
    library = PromptLibrary(path)
    assert len(library.problems) == 1 and "cannot be moved aside (Permission denied)" in library.problems[0]
    with pytest.raises(InputError, match="could not be moved aside, so it is not saved over"):
        library.add("a phrase")
    assert path.read_bytes() == b"{broken"
    monkeypatch.setattr(prompts_module, "commit_new", real)  # writable again: set aside, then saved
    library.add("a phrase")
    assert library.phrases() == ["a phrase"] and json.loads(path.read_text())["prompts"] == ["a phrase"]
    assert [p.read_bytes() for p in tmp_path.iterdir() if ".damaged-" in p.name] == [b"{broken"]


def test_item19_prompts_are_written_through_the_durable_helper(tmp_path, monkeypatch):
    written = []
    real = prompts_module.write_durably
    monkeypatch.setattr(prompts_module, "write_durably",
                        lambda path, data: (written.append(path), real(path, data)))
    path = tmp_path / "nested" / "prompts.json"
    library = PromptLibrary(path)
    library.add("  a   cat on a sofa ")
    library.add("rain")
    library.remove("a cat on a sofa")
    assert written == [path] * 3
    assert PromptLibrary(path).phrases() == ["rain"]
    assert [p.name for p in path.parent.iterdir()] == ["prompts.json"]  # no temporary left


def test_a_failed_save_keeps_the_library_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "prompts.json"
    library = PromptLibrary(path)
    library.add("one")

    def full_disk(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(prompts_module, "write_durably", full_disk)
    with pytest.raises(OSError):
        library.add("two")
    assert library.phrases() == ["one"]  # what is shown is what is on disk
    assert PromptLibrary(path).phrases() == ["one"]
