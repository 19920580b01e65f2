"""Plumbing shared by every stage: atomic and input files, durations, bounded untrusted JSON,
regular files, the version."""
