"""Crawling: sources, inspection workers, normalisers, replays, the crawler and its result."""
