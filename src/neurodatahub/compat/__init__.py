"""The peers' function names and parameters, working on the hub's models and on any storage URL."""
