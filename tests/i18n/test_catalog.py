"""Every message sockspec shows has a translation, the compiled catalogs are those of the sources,
and the language follows --lang or the locale."""

from __future__ import annotations

import ast
import re
import string

import pytest

from sockspec import causes, i18n
from tests.i18n import catalog

TRANSLATED = [language for language in i18n.languages() if language != i18n.ENGLISH]


def _placeholders(text: str) -> set[str]:
    return {name for _text, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def template():
    return catalog.template()


def test_zh_CN_is_a_language():
    assert "zh_CN" in TRANSLATED, f"no compiled catalog in {i18n.LOCALE_DIR}: run python -m tests.i18n.catalog"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_has_a_translation(template, language):
    translated = catalog.read(language)
    missing = []
    for message in template:
        if not message.id:
            continue
        entry = translated.get(message.id)
        strings = entry.string if entry else None
        if not entry or entry.fuzzy or not (all(strings) if isinstance(strings, tuple) else strings):
            missing.append(f"{message.locations[0][0]}:{message.locations[0][1]}: {message.id!r}")
    assert not missing, f"{len(missing)} untranslated (python -m tests.i18n.catalog, then translate):\n" + "\n".join(
        missing[:40]
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_message_is_left_from_code_that_is_gone(template, language):
    gone = [message.id for message in catalog.read(language) if message.id and message.id not in template]
    assert not gone, f"run python -m tests.i18n.catalog: {gone[:10]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_translation_keeps_every_placeholder(language):
    wrong = []
    for message in catalog.read(language):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set().union(*(_placeholders(text) for text in ids))
        for text in strings:
            if text and _placeholders(text) != wanted:
                wrong.append(f"{ids[0]!r} -> {text!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalog_is_the_source_catalog_compiled(language):
    mo = catalog.po_path(language).with_suffix(".mo")
    assert mo.read_bytes() == catalog.compiled(catalog.read(language)), "run python -m tests.i18n.catalog"


def test_no_module_that_translates_assigns_the_underscore():
    """`_` is the translation function wherever it is imported: `a, _ = ...` there would make the
    next `_("...")` call a string instead."""
    wrong = []
    for folder in catalog.SOURCES:
        for path in sorted((catalog.ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            imports = any(
                isinstance(node, ast.ImportFrom) and any(alias.name == "_" for alias in node.names)
                for node in ast.walk(tree)
            )
            if not imports:
                continue
            stores = [
                node.lineno
                for node in ast.walk(tree)
                if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store)
            ]
            wrong += [f"{path.relative_to(catalog.ROOT)}:{line}" for line in stores]
    assert not wrong, f"`_` assigned where it translates: {wrong}"


@pytest.mark.parametrize(
    ("environment", "language"),
    [
        ({}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh_CN"),
        ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh_CN"),
        ({"LANGUAGE": "fr:zh", "LANG": "en_US.UTF-8"}, "zh_CN"),
        ({"LANGUAGE": "fr", "LANG": "zh_SG.UTF-8"}, "zh_CN"),
        ({"LANG": "zh_TW.UTF-8"}, "en"),
    ],
)
def test_the_language_follows_the_locale(environment, language):
    assert i18n.from_environment(environment) == language


def test_an_unknown_language_is_refused_in_one_line():
    with pytest.raises(ValueError, match=re.escape("--lang fr: sockspec speaks en")):
        i18n.use("fr")


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_cause_catalog_in_each_language_is_generated(language):
    path = catalog.ROOT / "docs" / f"causes.{language}.md"
    try:
        i18n.use(language)
        expected = causes.markdown()
    finally:
        i18n.use(i18n.ENGLISH)
    assert path.read_text() == expected, f"run: python -m sockspec.causes {language} > {path.name}"
