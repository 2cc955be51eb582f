"""Where the app keeps things on disk: settings, user presets, history. No Qt."""
