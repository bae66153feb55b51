"""Character encoding of Shapefile attribute tables (.dbf).

GDAL honours a ``.cpg`` that names a codec it knows ("UTF-8", "GBK", "936")
and the DBF language-driver byte, but reads other common cases as Latin-1:
``.cpg`` files saying "ANSI 936" or "System" (both written on Chinese
Windows installs) and DBFs with neither a ``.cpg`` nor a language driver.
This module decides the encoding for those cases; everything else is left
to GDAL.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

#: DBF language-driver ids (byte 29) for Chinese code pages, from the dBase spec.
_LDID_CODEPAGES = {0x4D: "cp936", 0x7A: "cp936", 0x4E: "cp949", 0x4F: "cp950", 0x78: "cp950"}

#: Bytes of the attribute table read to guess an undeclared encoding.
SNIFF_BYTES = 1 << 20


def shapefile_encoding(shp_path: Path) -> tuple[str | None, str]:
    """Return ``(encoding, how)`` for a Shapefile's attribute table.

    ``encoding`` is a Python codec name to pass to pyogrio, or ``None`` when
    GDAL decodes the file correctly by itself (UTF-8 or a codec it knows).
    ``how`` says where the answer came from, for reports.
    """
    cpg = _sidecar(shp_path, ".cpg")
    if cpg is not None:
        declared = cpg.read_text(encoding="ascii", errors="replace").strip()
        codec = _codec_from_cpg(declared)
        if codec is not None:
            return codec, f".cpg declares '{declared}'"
        # 'System' or an unknown label: fall through to the DBF itself.
    dbf = _sidecar(shp_path, ".dbf")
    if dbf is None:
        return None, "no .dbf"
    with open(dbf, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return None, "empty .dbf"
        header_len = int.from_bytes(head[8:10], "little")
        ldid = head[29]
        if ldid in _LDID_CODEPAGES:
            return _LDID_CODEPAGES[ldid], f"DBF language driver 0x{ldid:02X}"
        fh.seek(header_len)
        sample = fh.read(SNIFF_BYTES)
    return _sniff(sample)


def _sidecar(shp_path: Path, suffix: str) -> Path | None:
    for candidate in (shp_path.with_suffix(suffix), shp_path.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def _codec_from_cpg(declared: str) -> str | None:
    """Map a ``.cpg`` label ('UTF-8', 'ANSI 936', '936', 'GBK', 'CP1252') to a codec."""
    label = declared.strip().upper()
    if not label or label == "SYSTEM":
        return None
    number = re.fullmatch(r"(?:ANSI|OEM|CP|WINDOWS-?)?\s*(\d{3,5})", label)
    if number:
        label = f"cp{number.group(1)}"
        if number.group(1) == "65001":
            label = "utf-8"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _sniff(sample: bytes) -> tuple[str | None, str]:
    """Guess the encoding of raw DBF records: ASCII/UTF-8, else GB18030, else Latin-1."""
    if not any(b >= 0x80 for b in sample):
        return None, "ASCII attributes"
    for codec in ("utf-8", "gb18030"):
        try:
            sample.decode(codec)
        except UnicodeDecodeError as err:
            # A multi-byte character cut at the end of the sample is not evidence.
            if err.start < len(sample) - 4:
                continue
        return codec, f"no encoding declared; attributes decode as {codec.upper()}"
    return "latin-1", "no encoding declared; attributes are neither UTF-8 nor GB18030"
