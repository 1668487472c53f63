"""The wheel's packages (everything else is in pyproject.toml): pyparity and every folder under it
(found, so that a new subpackage or data folder cannot be left out of the wheel), plus the repository's
cli/ folder, which pyproject's package-dir installs as pyparity.cli."""

from setuptools import find_namespace_packages, setup

setup(packages=find_namespace_packages(include=["pyparity", "pyparity.*"], exclude=["*.__pycache__"])
      + ["pyparity.cli"])
