"""The version of attestlake, recorded in statements, reports and the crawl journal."""

__version__ = "0.1.0"


def version_line() -> str:
    """What ``attestlake --version`` prints."""
    return f"attestlake {__version__}\n"
