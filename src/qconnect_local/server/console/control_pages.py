"""Console pages: (to be written)."""
