"""Loads the sockspec plugins when sockspec is not installed (installed, its entry points load them)."""

pytest_plugins = ["sockspec.plugin", "sockspec.serverspec.plugin", "sockspec.clientspec.plugin"]
