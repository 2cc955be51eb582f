"""Benchmarks and their fixtures, kept out of the product: `i2v bench` and scripts/gpu-check.sh.

The bench sits above the engines, export and quality (it measures them; they never import it):

  run.py            `i2v bench`: the tiny CPU bench (cpu.py) or the real-architecture one (real.py)
  cpu.py            our engine against a plain diffusers call, on tiny pipelines, on the CPU
  real.py           each family at its published architecture on a GPU (random weights)
  architectures.py  those denoisers and VAEs, built from resources/architectures.json
  switches.py       the speed switches, one at a time and all together
  seed.py           the seed job: 12 photos to 12 clips with the fast tier
  memory.py         memory plans and out-of-memory recovery on a simulated smaller card
  dry_run.py        what a GPU run would do, planned on the CPU on meta tensors
  gpu_check.py      scripts/gpu-check.sh: all of the above within a time budget, as JSON
  report.py         the printed tables
  measure.py        peak memory, timing, the time budget;  guard.py: one failed row never ends a run
  instant.py        `i2v bench --instant`: the instant engine against ffmpeg's zoompan
  export.py         `i2v bench --export`: a Reels export against a plain re-encode
  score.py          `i2v bench --score`: scoring a 3 s 720p clip
  batch.py          scripts/batch_bench.py: `i2v batch` throughput, and its scheduling cost per row
  tiny.py           tiny random-weight pipelines (tests and the CPU bench); tiny_parts.py, their
                    shared components; tiny_registry.py, the registry entries that point at them

Importing this package (or tiny.py) imports neither torch nor diffusers.
"""
