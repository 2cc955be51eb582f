"""The first steps over the real window: offered once, driven through, never shown twice."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSettings, Qt

from i2v_desktop.ui.tour import FirstSteps, Tour


def tours(window) -> list[Tour]:
    return [tour for tour in window.findChildren(Tour) if tour.isVisible()]


def shown_whole(tour: Tour, window) -> bool:
    """The step's widget lies in the tour's hole and the card does not cover it."""
    target = tour.target()
    where = QRect(target.mapTo(window, QPoint(0, 0)), target.size())
    return tour._hole.contains(where) and not tour.card.geometry().intersects(where)


def test_first_steps_go_drop_motion_generate_and_never_show_twice(qtbot, make_window, settings_path):
    window = make_window()
    assert tours(window) == []  # a window the app did not offer them on (tests, scripts) has none

    window.first_steps.offer()  # what the app does once its window shows
    (tour,) = tours(window)
    assert tour.geometry() == window.rect()
    seen = []
    for step in range(3):
        assert shown_whole(tour, window) and window.focusWidget() is tour.next_button
        seen.append((tour.title.text(), tour.target(), tour.count.text(), tour.next_button.text()))
        qtbot.mouseClick(tour.next_button, Qt.MouseButton.LeftButton)
    assert seen == [("Drop a photo", window.framing, "1 of 3", "Next"),
                    ("Pick a motion", window.presets, "2 of 3", "Next"),
                    ("Generate", window.generate_button, "3 of 3", "Done")]
    assert tours(window) == [] and window.first_steps.tour is None
    assert QSettings(str(settings_path), QSettings.Format.IniFormat).value(FirstSteps.KEY, False, bool)

    window.first_steps.offer()
    assert tours(window) == []  # done: not again in this window
    again = make_window()
    again.first_steps.offer()
    assert tours(again) == []  # nor the next time the app opens

    window.first_steps_action.trigger()  # Help > Show the first steps
    (tour,) = tours(window)
    window.resize(1024, 640)  # it follows the window
    qtbot.waitUntil(lambda: tour.geometry() == window.rect())
    assert shown_whole(tour, window)
    qtbot.mouseClick(tour.next_button, Qt.MouseButton.LeftButton)
    cancelled = []
    window.cancel_action.triggered.connect(lambda: cancelled.append(True))
    window.activateWindow()  # the window's own shortcuts (Esc: Cancel render) are live
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Escape)  # Esc closes it, and cancels no render
    assert tours(window) == [] and cancelled == []


def test_skipping_counts_as_seen_but_a_read_only_window_writes_nothing(qtbot, make_window, settings_path):
    read_only = make_window(read_only="another window has the data folder")
    read_only.first_steps.show()
    qtbot.mouseClick(read_only.first_steps.tour.skip_button, Qt.MouseButton.LeftButton)
    assert tours(read_only) == []
    assert QSettings(str(settings_path), QSettings.Format.IniFormat).value(FirstSteps.KEY) is None

    window = make_window()
    window.first_steps.offer()
    qtbot.mouseClick(window.first_steps.tour.skip_button, Qt.MouseButton.LeftButton)
    assert tours(window) == []
    assert QSettings(str(settings_path), QSettings.Format.IniFormat).value(FirstSteps.KEY, False, bool)
    later = make_window()
    later.first_steps.offer()
    assert tours(later) == []
