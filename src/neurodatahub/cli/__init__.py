"""`hub`: parse, call the library, print. No logic here that the Python API lacks."""

from neurodatahub.cli.main import app, main, run

__all__ = ["app", "main", "run"]
