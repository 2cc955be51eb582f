#!/usr/bin/env bash
# The GPU checks in one run: the real-architecture benchmark (every family's denoiser and VAE at
# their published sizes with random weights, plain diffusers against each speed switch alone and
# all together, the first preview, one clip of the seed job), the memory plans for this card and
# for a 24 GB card, and out-of-memory recovery on a simulated 24 GB card
# (torch.cuda.set_per_process_memory_fraction). The GPU work keeps to a time budget (390 s by
# default) so that the whole run ends within 8 minutes on an H100 or H200; rows that do not fit
# say so. Results: OUTDIR/gpu-check.json, and the printed tables in OUTDIR/gpu-check.log.
#
#   scripts/gpu-check.sh [--dry-run] [--family wan|ltx|svd|all] [--budget SECONDS] OUTDIR
#
# --dry-run plans the same on the CPU with meta tensors (shapes, FLOP counts, what would run and
# about how long), with no GPU and no memory.
#
# Python: $I2V_PYTHON if set, else the repository's .venv/bin/python, else python3 on the PATH;
# it must be able to import torch and diffusers. The repository itself is put on PYTHONPATH, so a
# fresh copy works without installing it. Nothing is downloaded: the models are built from the
# configs in resources/architectures.json, and the Hugging Face libraries are kept
# offline.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
args=()
outdir=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dry-run) args+=("--dry-run"); shift ;;
        --family|--budget)
            [[ $# -ge 2 ]] || { echo "gpu-check: $1 needs a value" >&2; exit 2; }
            args+=("$1" "$2"); shift 2 ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
        *) [[ -z "$outdir" ]] || { echo "gpu-check: one OUTDIR only" >&2; exit 2; }
           outdir="$1"; shift ;;
    esac
done
if [[ -z "$outdir" ]]; then
    echo "usage: scripts/gpu-check.sh [--dry-run] [--family F] [--budget SECONDS] OUTDIR" >&2
    exit 2
fi

if [[ -n "${I2V_PYTHON:-}" ]]; then
    python="$I2V_PYTHON"
elif [[ -x "$here/.venv/bin/python" ]]; then
    python="$here/.venv/bin/python"
else
    python="$(command -v python3 || true)"
fi
if [[ -z "$python" ]] || ! "$python" -c "import torch, diffusers" 2>/dev/null; then
    echo "gpu-check: no Python with torch and diffusers (set I2V_PYTHON, or create $here/.venv)" >&2
    exit 2
fi

mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
# Fragmentation would turn the 24 GB simulation's near misses into failures a real card has not.
export PYTORCH_CUDA_ALLOC_CONF="${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}"

echo "gpu-check: $python, repository $here, results in $outdir"
"$python" -u -c 'import sys; from i2v_desktop.bench.gpu_check import gpu_check_main; sys.exit(gpu_check_main(sys.argv[1:]))' \
    ${args[@]+"${args[@]}"} "$outdir" 2>&1 | tee "$outdir/gpu-check.log"
exit "${PIPESTATUS[0]}"
