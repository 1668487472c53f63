"""pyparity: stage-by-stage parity testing for face and pose pipelines."""

__version__ = "0.1.0"
