"""Verification: outcomes, the trust policy, DSSE and Sigstore verification, dispatch by format."""
