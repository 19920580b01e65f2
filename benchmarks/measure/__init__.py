"""The measurements ``benchmarks/run`` prints: each figure beside its baseline, measured in the
same run, and their ratio."""
