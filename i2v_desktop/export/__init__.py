"""Writing finished clips to disk: MP4 files (through the bundled ffmpeg) and JSON sidecars.

Nothing here imports Qt or torch (an import-linter contract enforces it).
"""
