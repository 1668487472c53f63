"""Paths the tests share, wherever in the tree a test sits."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PORTS = REPO / "tests" / "probe_ports"  # toy ports the probe tests hunt
