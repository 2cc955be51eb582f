"""Engines turn a GenerationRequest into a Clip, reporting events as they go.

No Qt here. torch and diffusers are imported lazily, inside the functions that need them, so that
importing this package (for the registry, say) costs nothing at start-up.
"""
