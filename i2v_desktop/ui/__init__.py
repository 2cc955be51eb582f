"""The desktop window (PySide6): the only package that imports Qt.

Importing it changes nothing process-wide: the workaround for PySide6 6.12's reference leak on
Python < 3.12 runs at start-up (app.keep_singletons_alive).
"""
