"""Pages of the deadlines feature."""
