"""Generated organisations of N runs, signed for real (see :mod:`.generate`)."""
