"""Registry generator (being written)."""
