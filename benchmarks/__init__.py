"""Benchmarks: a generator of organisations at scale and the measurements of ``benchmarks/run``."""
