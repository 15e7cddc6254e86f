"""Command groups of `hub` beyond the core ones in cli.py, one module per group.

Each module defines `register(app)`, which adds its commands to the `hub` Typer app. Modules import only
typer at the top (start-up time); the library is imported inside the commands.
"""
