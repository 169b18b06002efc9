"""Loads the sockspec plugin when sockspec is not installed (installed, its entry point loads it)."""

pytest_plugins = ["sockspec.plugin"]
