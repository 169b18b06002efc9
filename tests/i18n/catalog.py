"""The translation catalogs: extract what the code marks, merge it into each language, compile.

    python -m tests.i18n.catalog

rewrites `sockspec/locale/<language>/LC_MESSAGES/sockspec.po` from the
source (new messages untranslated, gone ones dropped, translations kept)
and compiles each into the `.mo` beside it, which is what sockspec reads
and the wheel ships.  Translate the empty `msgstr`s, then run it again;
`tests/i18n/test_catalog.py` fails until every message is translated and
every `.mo` is the compiled form of its `.po`.

What is marked (sockspec.i18n): `_()`, `N_()` and `ngettext()` of string
literals anywhere in sockspec/ and spec/; and, in spec/, what the spec's
failures show of a test without a call: each test function's docstring
(the DID line, on one line as the plugin shows it) and the text and
`notes=` of its `behaviour` and `likely_bug` markers.  Babel reads and
writes the catalogs; it is a development dependency only.
"""

from __future__ import annotations

import ast
import datetime
import io
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from sockspec import i18n

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("sockspec", "spec")
MARKERS = ("behaviour", "likely_bug")
Message = str | tuple[str, str]  # a message, or a singular and plural pair
# The header's dates are fixed: a catalog changes only when its messages do.
DATE = datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC)


def _constant(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _marker_name(node: ast.Call) -> str | None:
    """`behaviour` for `pytest.mark.behaviour(...)`."""
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute) and func.value.attr == "mark":
        return func.attr
    return None


def messages_of(path: Path) -> Iterator[tuple[Message, int]]:
    """Every message `path` marks, with its line."""
    tree = ast.parse(path.read_text(), str(path))
    in_spec = path.is_relative_to(ROOT / "spec")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            texts = [_constant(arg) for arg in node.args[:2]]
            if name in ("_", "N_") and texts and texts[0]:
                yield texts[0], node.lineno
            elif name == "ngettext" and len(texts) == 2 and all(texts):
                yield (texts[0], texts[1]), node.lineno
            elif in_spec and _marker_name(node) in MARKERS:
                notes = [_constant(k.value) for k in node.keywords if k.arg == "notes"]
                for text in (texts[0] if texts else None, *notes):
                    if text:
                        yield text, node.lineno
        elif in_spec and isinstance(node, ast.FunctionDef) and node.name.startswith("test") and ast.get_docstring(node):
            yield " ".join(ast.get_docstring(node).split()), node.lineno


def template() -> Catalog:
    """Every marked message of the source, with where it is."""
    catalog = Catalog(domain=i18n.DOMAIN, project="sockspec")
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for message, line in messages_of(path):
                catalog.add(message, None, [(str(path.relative_to(ROOT)), line)])
    return catalog


def po_path(language: str) -> Path:
    return i18n.LOCALE_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as file:
        return read_po(file, locale=language, domain=i18n.DOMAIN)


def compiled(catalog: Catalog) -> bytes:
    """The `.mo` of `catalog`, byte for byte as this module writes it."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def update(language: str) -> Catalog:
    """Merge the source's messages into `language`'s catalog, write it and compile it."""
    path = po_path(language)
    if path.exists():
        catalog = read(language)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=language, domain=i18n.DOMAIN, project="sockspec", copyright_holder="sockspec")
    catalog.update(template(), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.creation_date = catalog.revision_date = DATE
    catalog.fuzzy = False
    catalog.version, catalog.last_translator = "0.1.0", "sockspec"
    catalog.language_team = catalog.msgid_bugs_address = "sockspec's CONTRIBUTING.md"
    with path.open("wb") as file:
        write_po(file, catalog, width=120, sort_output=False, omit_header=False)
    path.with_suffix(".mo").write_bytes(compiled(read(language)))
    return catalog


def main(argv: list[str]) -> int:
    for language in argv or [lang for lang in i18n.languages() if lang != i18n.ENGLISH] or ["zh_CN"]:
        catalog = update(language)
        missing = sum(1 for message in catalog if message.id and not message.string)
        print(f"{po_path(language).relative_to(ROOT)}: {len(catalog)} messages, {missing} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
