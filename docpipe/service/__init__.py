"""The automatic pre-review service (``docpipe serve``): HTTP API, job store, workers.

``config`` reads the settings, ``store`` keeps the jobs in SQLite, ``worker`` runs the
same pipeline as ``docpipe check`` in background processes, ``app`` is the FastAPI app.
"""
