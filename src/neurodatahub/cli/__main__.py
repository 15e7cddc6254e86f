"""`python -m neurodatahub.cli`: the same as the `hub` command."""

from neurodatahub.cli.main import run

run()
