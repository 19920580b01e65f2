"""in-toto documents: predicate type URIs, DSSE envelopes, Sigstore bundles, statement claims."""
