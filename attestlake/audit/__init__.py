"""Auditing the lake: saved queries, reports in several formats, trends."""
