"""Renderers: each turns report data into one presentation (terminal table, JSON, JUnit XML)."""
