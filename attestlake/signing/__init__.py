"""Signers: keys, cosign keys and Sigstore keyless signing."""
