"""The in-toto statement type and the predicate type URIs attestlake writes."""

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
RUN_PREDICATE_TYPE = "https://attestlake.dev/attestation/run/v1"
