"""The Studio behind the seam (`core.studio.Studio`): renders, history, export, in this process or a
worker process. Front ends get one from `app.py` and speak only the Protocol; the command line also
reads the user's catalogue (`catalog`) and renders into its own folder (`render`)."""
