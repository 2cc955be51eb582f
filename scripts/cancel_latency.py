"""How fast a cancel reaches a render in the worker process: the time from setting the job's cancel
token (at step 20 of an instant render) to the Cancelled event, and how many steps ran meanwhile.

    .venv/bin/python scripts/cancel_latency.py
"""

import os
import tempfile
import time
home = tempfile.mkdtemp()
os.environ.update(XDG_DATA_HOME=f"{home}/d", XDG_CONFIG_HOME=f"{home}/c", HF_HUB_OFFLINE="1")
from i2v_desktop.app import make_studio
from i2v_desktop.core.cancel import CancelToken
from i2v_desktop.core.errors import Cancelled as CancelledError
from i2v_desktop.core.events import Cancelled, StepProgress
from i2v_desktop.core.request import GenerationRequest
from i2v_desktop.core.resources import resource_path

if __name__ == "__main__":
    s = make_studio(process=True)
    req = GenerationRequest(image=str(resource_path("samples", "coffee.jpg")), preset="orbit",
                            model="instant", duration=3.0, fps=24.0, aspect="9:16", quality="standard")
    for trial in range(5):
        cancel, t = CancelToken(), {}
        def on_event(e):
            if isinstance(e, StepProgress) and e.step == 20 and "at" not in t:
                t["at"] = time.perf_counter(); t["step"] = e.step; cancel.cancel()
            if isinstance(e, StepProgress) and "at" in t:
                t["last"] = e.step
            if isinstance(e, Cancelled):
                t["heard"] = time.perf_counter()
        try:
            s.render(req, on_event, cancel, lambda saved: None)
        except CancelledError:
            pass
        print(f"cancel at step {t['step']}: Cancelled after {(t['heard'] - t['at']) * 1000:.0f} ms, "
              f"{t.get('last', t['step']) - t['step']} more step(s)")
    s.close()
