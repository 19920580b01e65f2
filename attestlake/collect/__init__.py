"""Collecting a run in CI: the run record, its state file, lifecycle records, statements, provenance, push, CI summaries."""
