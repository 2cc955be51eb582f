"""Clip quality: a scorecard that tells which of several variants holds up, and cheap fixes.

Plain numpy/OpenCV (no Qt, no torch), so the CLI, the window and the job runner can all score a
clip on any machine in well under a second.
"""
