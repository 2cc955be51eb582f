"""i2v_desktop: turn a still photo into a short video clip on your own machine."""

import os

__version__ = "0.1.0"

# numpy's BLAS on one thread, set before numpy is first imported (here, as every entry point starts
# here). The app parallelises a render itself (the engine's thread, the scorer's, the encoder's
# writer and ffmpeg) and gives numpy's BLAS only small problems (3×3 transforms, fits to a few
# hundred points): OpenBLAS's own threads then only spin, waiting for work, on cores the render
# needs (0.2 processor seconds of a 3-second instant render on two cores). A user's setting stands.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
