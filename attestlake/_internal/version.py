"""The version of attestlake, recorded in statements, reports and the crawl journal."""

__version__ = "0.1.0"
