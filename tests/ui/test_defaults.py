"""One set of defaults: the request, the window's choices and the command line agree."""

from dataclasses import fields

from i2v_desktop.cli import build_parser
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.settings import DEFAULTS, ClipSettings
from i2v_desktop.ui.state import Choices


def test_request_choices_and_command_line_start_from_the_same_settings():
    request = GenerationRequest(image="photo.jpg")
    choices = Choices()
    args = build_parser().parse_args(["render", "photo.jpg"])
    names = [item.name for item in fields(ClipSettings)]
    assert len(names) == 8
    for name in names:
        expected = getattr(DEFAULTS, name)
        assert getattr(request, name) == expected, name
        assert getattr(choices, name) == expected, name
        assert getattr(args, name) == expected, name
