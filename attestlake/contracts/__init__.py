"""Contracts, inventories and their publication in a store."""
