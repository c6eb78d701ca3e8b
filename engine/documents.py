"""Documents' bytes, stored by content: one file per sha256 in the documents folder.

    <ACCORD_DOCUMENTS_DIR>/<first two hex digits>/<sha256>

`store` streams an upload into a temporary file in that folder, counting and hashing as it
goes, and refuses it (`TooLarge`) the moment it passes the limit, so a huge upload is never
held whole, in memory or on disk. Its type is sniffed from its first bytes (`filetype`) and
must be one of the allowed types and agree with the file name's extension (`UnsupportedType`
otherwise: a `.pdf` that is a program is refused). The file then takes its place with
`os.replace`, which is atomic: a reader sees the whole file or none. The same content uploaded
twice is stored once. A file is written before the row that names it (the one way in,
`engine.agreements.actions.AttachDocument`): a file whose row was never written is harmless, and
the next upload of the same content finds it there.

Refusals say what to do in the language being read (`engine.i18n.reading`), sizes too
(`size_in_words`: 25 MB, 25 Mo).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import filetype

from engine import i18n
from engine.errors import NotFound, TooLarge, UnsupportedType
from engine.settings import Settings

CHUNK = 64 * 1024
SNIFF_BYTES = 8192  # what `filetype` reads of a file to tell its type

# The types a document may be, by extension: (the type sniffed from the bytes, what people call it,
# translated where said: `i18n.gettext(TYPES[extension][1])`).
TYPES: dict[str, tuple[str, str]] = {
    "pdf": ("application/pdf", "PDF"),
    "png": ("image/png", i18n.N_("PNG image")),
    "jpg": ("image/jpeg", i18n.N_("JPEG image")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             i18n.N_("Word document (DOCX)")),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", i18n.N_("Excel workbook (XLSX)")),
    "odt": ("application/vnd.oasis.opendocument.text", i18n.N_("OpenDocument text (ODT)")),
}
KILOBYTE, MEGABYTE = 1024, 1024 * 1024
ALIASES = {"jpeg": "jpg"}


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    content_type: str


def folder(settings: Settings) -> Path:
    return Path(settings.documents_dir)


def path_of(settings: Settings, sha256: str) -> Path:
    return folder(settings) / sha256[:2] / sha256


def extension_of(filename: str) -> str:
    suffix = Path(filename).suffix.lower().lstrip(".")
    return ALIASES.get(suffix, suffix)


def allowed(settings: Settings) -> str:
    """The allowed types in words, for a refusal (in the language being read)."""
    return ", ".join(f"{i18n.gettext(TYPES[t][1])} (.{t})" for t in settings.document_types)


def size_in_words(size: int) -> str:
    """A document's size as the reader writes it, in the language being read: "2.5 MB", "2,5 Mo",
    "2,5 MB"; "800 KB"; "512 bytes", "512 octets". Kilobytes and megabytes of 1024."""
    for step, unit in ((MEGABYTE, i18n.N_("%(size)s MB")), (KILOBYTE, i18n.N_("%(size)s KB"))):
        if round(size / step, 1) >= 1:  # 1,048,575 bytes is "1 MB", not "1,024 KB"
            return i18n.gettext(unit) % {"size": i18n.format_number(round(size / step, 1))}
    return i18n.ngettext("%(num)s byte", "%(num)s bytes", size) % {"num": i18n.format_number(size)}


def safe_filename(filename: str) -> str:
    """`filename` without a folder, control characters or quotes, as a download may name it."""
    name = Path(filename.replace("\\", "/")).name
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    name = re.sub(r'["/;]', "_", name).strip(" .")
    return name[:255] or "document"


async def store(read: Callable[[int], Awaitable[bytes]], filename: str, settings: Settings) -> Stored:
    """The upload `read` gives (chunk by chunk, b"" at its end) stored by content; refused as
    `TooLarge` past `settings.document_max_bytes`, or `UnsupportedType`."""
    extension = extension_of(filename)
    if extension not in settings.document_types:
        raise UnsupportedType(i18n.gettext("“%(file)s” is not a type of document Accord keeps. Upload one of: "
                                           "%(types)s; convert other files to PDF first.")
                              % {"file": safe_filename(filename), "types": allowed(settings)})
    limit = settings.document_max_bytes
    base = folder(settings)
    await asyncio.to_thread(base.mkdir, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=base, prefix=".upload-")
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with os.fdopen(handle, "wb") as file:
            while chunk := await read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(i18n.gettext("“%(file)s” is larger than %(size)s, the most a document may be. "
                                                "Upload a smaller file (a scan at a lower resolution, or the "
                                                "document split in parts).")
                                   % {"file": safe_filename(filename), "size": size_in_words(limit)})
                digest.update(chunk)
                if len(head) < SNIFF_BYTES:
                    head += chunk[:SNIFF_BYTES - len(head)]
                await asyncio.to_thread(file.write, chunk)
            await asyncio.to_thread(os.fsync, file.fileno())
        content_type = _sniffed(head, extension, filename, settings)
        sha256 = digest.hexdigest()
        final = path_of(settings, sha256)
        if final.exists():  # the same content is already kept
            os.unlink(temporary)
        else:
            await asyncio.to_thread(final.parent.mkdir, exist_ok=True)
            os.replace(temporary, final)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return Stored(sha256=sha256, size=size, content_type=content_type)


def _sniffed(head: bytes, extension: str, filename: str, settings: Settings) -> str:
    expected, words = TYPES[extension]
    kind = filetype.guess(head) if head else None
    found = kind.mime if kind is not None else None
    if found == expected:
        return expected
    said = {"file": safe_filename(filename), "types": allowed(settings), "named": i18n.gettext(words)}
    if not head:
        raise UnsupportedType(i18n.gettext("“%(file)s” is empty. Upload the document itself, as one of: %(types)s.")
                              % said)
    if found:
        raise UnsupportedType(i18n.gettext("“%(file)s” is named as a %(named)s, but its content is a %(found)s file. "
                                           "Upload the document itself as one of: %(types)s.")
                              % {**said, "found": found})
    raise UnsupportedType(i18n.gettext("“%(file)s” is named as a %(named)s, but its content is not a file of a known "
                                       "type. Upload the document itself as one of: %(types)s.") % said)


def open_content(settings: Settings, sha256: str) -> Path:
    """The stored file of `sha256` (`NotFound` if the folder lost it: restore it from the backup)."""
    path = path_of(settings, sha256)
    if not path.is_file():
        raise NotFound(i18n.gettext("This document's content is missing from the documents folder; ask the operator "
                                    "to restore the folder from the backup taken with the database (docs/deploy.md)."))
    return path
