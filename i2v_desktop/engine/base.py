"""The one interface every engine implements, and the one place outcomes become terminal events."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Callable

from ..core.cancel import CancelToken
from ..core.clip import Clip, FrameSink
from ..core.errors import Cancelled as CancelledError
from ..core.errors import I2VError, RequestError
from ..core.events import Cancelled, EventSink, Failed, Finished
from ..core.presets import PresetLibrary
from ..core.request import GenerationRequest

log = logging.getLogger(__name__)


class Engine(ABC):
    """Turns one single-clip request into a Clip.

    `generate` reports progress through `on_event` and raises on failure or cancel; `run` wraps
    it so that every job ends with exactly one Finished, Failed or Cancelled event.
    """

    name: str = "engine"
    # x264 preset for this engine's clips: a fast engine wants a fast encode to stay fast.
    encoder_preset: str = "medium"
    presets: PresetLibrary  # the motion presets it renders

    @abstractmethod
    def generate(self, request: GenerationRequest, on_event: EventSink, cancel: CancelToken) -> Clip: ...

    def generate_into(self, request: GenerationRequest, on_event: EventSink, cancel: CancelToken,
                      sink: FrameSink) -> Clip:
        """`generate`, handing each frame to `sink` as soon as it is final, so that the encoder
        works while the engine does. An engine that makes every frame at once (a diffusion model
        decodes the clip in one go) hands them over at the end: this default. Its clip keeps its
        frames, which exist already: memory the sink would lend is not used."""
        clip = self.generate(request, on_event, cancel)
        assert clip.frames is not None
        sink.begin(clip.size[0], clip.size[1], clip.fps, clip.num_frames)
        for index, frame in enumerate(clip.frames):
            sink.frame(index, frame)
        return clip

    def close(self) -> None:
        """Release memory held between jobs (loaded pipelines). The engine stays usable."""

    def run(
        self,
        request: GenerationRequest,
        on_event: EventSink,
        cancel: CancelToken,
        deliver: Callable[[Clip], object] | None = None,
        sink: FrameSink | None = None,
    ) -> Clip | None:
        """Generate (each frame going to `sink` as it is made, when given), then `deliver` the
        clip (write it out, say), then report exactly one outcome."""
        if request.variants != 1:
            raise RequestError("request: an engine renders one variant at a time (use variant_requests())")
        try:
            cancel.raise_if_cancelled()
            clip = (self.generate(request, on_event, cancel) if sink is None
                    else self.generate_into(request, on_event, cancel, sink))
            if deliver is not None:
                cancel.raise_if_cancelled()
                deliver(clip)
        except CancelledError:
            on_event(Cancelled())
            return None
        except I2VError as exc:
            on_event(Failed(str(exc)))
            return None
        except Exception as exc:  # a bug or a library failure: the user still gets one line
            log.exception("engine %s failed on %s", self.name, request.image)
            on_event(Failed(f"{request.image}: internal error ({type(exc).__name__}: {exc})"))
            return None
        on_event(Finished(clip))
        return clip
