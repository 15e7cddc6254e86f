"""`python -m neurodatahub`: the `hub` command where the console script is not on PATH (a venv not
activated, a cluster job calling one interpreter)."""

from neurodatahub.cli import run

run()
