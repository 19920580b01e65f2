"""The demo and its sample organisation."""
