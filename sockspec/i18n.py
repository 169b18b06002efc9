"""The language sockspec speaks: English, or Simplified Chinese, the language of the notes.

The students who read a failure read the notes, which are Chinese; so every
sentence a person reads (a failure, its hints, the causes, the diagnosis,
the grader's progress and reports) is written in English in the code,
marked, and looked up in a gettext catalog when it is shown:

- `_("... {n} ...").format(n=n)` where the text is built;
- `N_("...")` for a constant defined before any language is chosen (a hint,
  a cause), and `_()` of it where it is shown;
- `ngettext(singular, plural, n)` where the words follow a count.

The catalogs are `sockspec/locale/<language>/LC_MESSAGES/sockspec.po`, kept
beside the `.mo` that is read here and shipped in the wheel;
`python -m tests.i18n.catalog` extracts, merges and compiles them
(CONTRIBUTING.md: "Adding a translation").  Bytes, test ids and commands
are never translated.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "sockspec"
ENGLISH = "en"
# SOCKSPEC_LOCALE_DIR points elsewhere only for the project's own tests (a pseudo-locale).
LOCALE_DIR = Path(os.environ.get("SOCKSPEC_LOCALE_DIR") or Path(__file__).parent / "locale")
# The locale variables, in the order gettext reads them.
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
# Chinese written in traditional characters: not read as zh_CN.
TRADITIONAL = ("zh_TW", "zh_HK", "zh_MO")

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = ENGLISH


def languages() -> list[str]:
    """English, and every language with a compiled catalog."""
    found = sorted(path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return [ENGLISH, *found]


def from_environment(environ: Mapping[str, str] = os.environ) -> str:
    """The language the locale asks for (`zh_CN.UTF-8`, `zh`, or a LANGUAGE list such as
    `zh_CN:en`), or English when it asks for none that sockspec speaks."""
    known = languages()
    for variable in LOCALE_VARIABLES:
        for wanted in environ.get(variable, "").split(":"):
            if match := _match(wanted, known):
                return match
    return ENGLISH


def _match(wanted: str, known: list[str]) -> str:
    """`wanted` (a locale name: language_TERRITORY.codeset@modifier) as one of `known`, or ''."""
    name = wanted.split(".")[0].split("@")[0]
    if name in ("", "C", "POSIX"):
        return ""
    if name in known:
        return name
    if name in TRADITIONAL:
        return ""
    # zh_SG or plain zh reads Simplified Chinese; en_GB reads English.
    return next((lang for lang in known if lang.split("_")[0] == name.split("_")[0]), "")


def use(language: str) -> None:
    """Speak `language` from now on, in this process; ValueError if it has no catalog."""
    global _translation, _language
    if language == ENGLISH:
        _translation, _language = gettext.NullTranslations(), ENGLISH
        return
    if language not in languages():
        raise ValueError(f"--lang {language}: sockspec speaks {', '.join(languages())}")
    _translation = gettext.translation(DOMAIN, LOCALE_DIR, [language])
    _language = language


def current() -> str:
    """The language in use."""
    return _language


def _(message: str) -> str:
    """`message` in the language in use (itself if the catalog lacks it, or is English)."""
    # A plain str, also of a str subclass (a Hint) the catalog lacks: what pytest-xdist can send.
    return str(_translation.gettext(message)) if message else ""


def N_(message: str) -> str:
    """Marks a constant for the catalog; it is translated where it is shown, with `_()`."""
    return message


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form of a message, for `count`, in the language in use."""
    return _translation.ngettext(singular, plural, count)
