"""Probes shipped with pyparity (``<name>.toml``) and the small setup helpers they name."""
