"""Goldens and the regression gate: blessed traces, corpus specs, and a parallel corpus runner."""
