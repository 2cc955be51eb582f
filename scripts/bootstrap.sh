#!/usr/bin/env bash
# Makes .venv ready for this checkout; sourced by ./i2v, ./i2v-desktop and ./run-tests. A current one
# (stamped with pyproject.toml's checksum) costs nothing: no Python, no pip. Otherwise the launcher sets
# it up or repairs it: the torch build this machine runs (the CPU build where there is no NVIDIA GPU,
# never the CUDA stack), then the app, editable, with its test and cluster extras.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.installed-$(cksum <"$root/pyproject.toml" | cut -d' ' -f1)"

if [ ! -f "$stamp" ]; then
    python="${PYTHON:-python3}"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || { echo "i2v_desktop needs Python 3.10 or newer ($python is older)" >&2; exit 1; }
    "$python" "$root/packaging/launcher/i2v_launcher.py" --venv "$venv" --extras test,cluster --repair
fi
