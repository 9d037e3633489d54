"""The end-to-end demo behind `terrafake demo`: ingest, train, generate, detect, serve, report."""
