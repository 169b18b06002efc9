"""Loads the sockspec plugin for every pytest run from the project root."""

pytest_plugins = ["sockspec.plugin"]
