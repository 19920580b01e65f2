"""The lake: tables, writes, reads (Lake and its views), checks, the crawl journal, results, rendering, the SQL shell."""
