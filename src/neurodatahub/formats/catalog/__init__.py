"""Catalog folders: `hub validate catalog/` checks every entry and the folder as a whole."""
