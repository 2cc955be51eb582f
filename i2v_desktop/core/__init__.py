"""Plain-Python heart of the app: requests, presets, events, cancel token, errors, images.

Nothing here imports Qt or torch (an import-linter contract enforces it).
"""
