"""The project's own tests read sockspec in English, whatever the developer's locale: the programs
they start inherit this (tests/i18n checks the other languages by asking for them)."""

import os

os.environ["LANGUAGE"] = "en"
