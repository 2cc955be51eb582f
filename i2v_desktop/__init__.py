"""i2v_desktop: turn a still photo into a short video clip on your own machine."""

__version__ = "0.1.0"
