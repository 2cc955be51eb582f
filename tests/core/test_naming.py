import pytest

from i2v_desktop.core.errors import InputError
from i2v_desktop.core.naming import DEFAULT_TEMPLATE, file_stem


def test_the_default_template_names_photo_motion_and_format():
    values = {"photo": "coffee", "motion": "orbit", "format": "reels", "seed": 7}
    assert file_stem(DEFAULT_TEMPLATE, values) == "coffee_orbit_reels"
    assert file_stem("{photo}-{seed}", values) == "coffee-7"


def test_unsafe_characters_become_dashes_and_a_name_is_never_empty_or_endless():
    assert file_stem("{photo}", {"photo": 'a/b\\c:d*e?"f<g>h|i'}) == "a-b-c-d-e-f-g-h-i"
    assert len(file_stem("{photo}", {"photo": "x" * 500})) == 180
    with pytest.raises(InputError, match="gives an empty name"):
        file_stem("{seed}", {"seed": ""})


@pytest.mark.parametrize("template, why", [("{colour}", "unknown field {colour}"), ("{photo", "template"),
                                           ("  ", "is empty")])
def test_a_bad_template_is_one_line_naming_it(template, why):
    with pytest.raises(InputError, match=why.replace("{", r"\{").replace("}", r"\}")) as caught:
        file_stem(template, {})
    assert "\n" not in str(caught.value)
