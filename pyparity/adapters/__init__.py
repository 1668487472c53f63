"""Adapters: turn what reference programs write (CSV files, ...) into traces."""
