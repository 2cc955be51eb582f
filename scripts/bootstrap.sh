#!/usr/bin/env bash
# Creates .venv on first use (and again whenever pyproject.toml changes). Sourced by ./i2v and ./run-tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.installed-$(cksum <"$root/pyproject.toml" | cut -d' ' -f1)"

if [ ! -f "$stamp" ]; then
    python="${PYTHON:-python3}"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || { echo "i2v_desktop needs Python 3.10 or newer ($python is older)" >&2; exit 1; }
    echo "Setting up $venv (first run only)…" >&2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
    if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
        if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
            "${pip[@]}" "torch==2.13.0"                      # CUDA build from PyPI
        elif [ "$(uname -s)" = Darwin ]; then
            "${pip[@]}" "torch==2.13.0"                      # macOS wheels are CPU/MPS only
        else
            # No NVIDIA GPU: the CPU build, never the multi-GB CUDA stack. A local wheel cache or mirror
            # may carry it as 2.13.0+cpu; otherwise PyTorch's CPU index has it.
            "${pip[@]}" "torch==2.13.0+cpu" 2>/dev/null \
                || "${pip[@]}" "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
        fi
    fi
    "${pip[@]}" -e "$root[test,cluster]"
    rm -f "$venv"/.installed-*
    touch "$stamp"
fi
