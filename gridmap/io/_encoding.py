r"""Text encodings of CSV files and shapefile attribute tables (.dbf).

Chinese files arrive in UTF-8 (with or without a byte-order mark), GBK/CP936 or GB18030, and rarely say
which. gridmap decides by a strict-decode trial instead of a statistical guess:

1. a byte-order mark decides (UTF-8, UTF-16);
2. otherwise the bytes are decoded strictly as UTF-8;
3. if that fails, strictly as GB18030;
4. a GB18030 reading full of rare characters that also decodes strictly as Big5 into common Traditional
   Chinese characters is read as Big5, with a :class:`~gridmap.errors.GridmapWarning` (see below).

Why a trial and not charset-normalizer: UTF-8 is self-checking — text in GBK almost never forms valid UTF-8
sequences (two GBK bytes ≥ 0x81 in a row break UTF-8's lead/continuation pattern), so step 2 never takes a
GBK file for UTF-8. GB18030 is a strict superset of GB2312 and GBK that decodes every valid GBK byte sequence
to the same characters and also covers rare characters (㐀, names outside GBK) that a GBK codec would damage.
A trial is exact, deterministic and fast; a statistical detector guesses Big5, EUC-KR or Shift-JIS for short
Chinese texts and cannot be told to prefer the encodings real Chinese files use. Other encodings (Latin-1,
Shift-JIS) are named by the user with ``encoding=``.

Big5 (Traditional Chinese, Taiwan and Hong Kong) is the exception step 4 makes: nearly every Big5 byte pair
is also valid GB18030, so Big5 text decodes without error into other, mostly rare characters (翠竹苑 becomes
籄λ璪). The two readings are told apart by how many of their characters are rare: for GB18030, a Han
character outside GB2312 or a kana, Greek, Cyrillic or private-use character; for Big5, a Han character
outside its 5,401 frequently used ones (A440-C67E) or the same symbols. Big5 is chosen only when the text has
at least 8 non-ASCII characters, at least 30 % of the GB18030 reading is rare and at most 10 % of the Big5
reading. Measured on 344,673 real division names (统计用区划代码) saved as GBK: no single name and no file
of 3, 6 or 20 random names (20,000 files) is taken for Big5. Of files of the names that Big5 can hold, saved
as Big5, 1,963 of 2,000 files of 3 names and all 2,000 of 20 names are recognised; a file of one name
mostly is not (too few characters) and is read as GB18030 as before.

Examples
--------
>>> decode_text("名称".encode("gbk"), path="units.csv")
('名称', 'gb18030')
>>> decode_text("\ufeff名称".encode("utf-8"), path="units.csv")
('名称', 'utf-8-sig')
>>> normalize_codec("936"), normalize_codec("ANSI 1252"), normalize_codec("UTF8")
('gb18030', 'cp1252', 'utf-8')
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import struct
import warnings

import numpy as np

from gridmap.errors import GridmapWarning, ReadError

__all__ = ["decode_text", "normalize_codec", "dbf_encoding", "detect_dbf_encoding", "dbf_cut_text"]

logger = logging.getLogger(__name__)

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_TRIAL = ("utf-8", "gb18030")
# GB2312 and GBK (CP936) are subsets of GB18030: decoding with GB18030 reads them identically and does not
# damage the rare characters that files labelled "GBK" contain anyway.
_GB_FAMILY = {"gb2312", "gbk", "cp936", "ms936", "euc_cn", "hz", "gb18030"}
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_BIG5_MIN_CHARS = 8
_BIG5_RARE_GB = 0.3  # at least this share of the GB18030 reading is rare ...
_BIG5_RARE_BIG5 = 0.1  # ... and at most this share of the Big5 reading
_FIX = "pass the file's encoding, e.g. encoding='gb18030', encoding='big5' or encoding='latin-1'"


def normalize_codec(name: str, *, path: str | os.PathLike | None = None) -> str:
    """Return Python's codec name for an encoding label (a ``.cpg`` text, a code page, a user argument).

    Code page numbers (``936``, ``ANSI 936``, ``65001``) are accepted; the GB2312/GBK family is widened to
    GB18030, its superset. An unknown label raises :class:`~gridmap.errors.ReadError`.
    """
    label = str(name).strip().strip("\x00").strip()
    match = re.fullmatch(r"(?:ansi\s*|cp\s*|windows-?)?(\d+)", label, flags=re.IGNORECASE)
    if match:
        number = match.group(1)
        label = {"65001": "utf-8", "20936": "gb2312", "54936": "gb18030"}.get(number, f"cp{number}")
        if number.startswith("8859") and len(number) > 4:
            label = f"iso8859-{number[4:].lstrip('-')}"
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        raise ReadError(f"unknown text encoding {name!r}", path=path, fix=_FIX) from None
    return "gb18030" if codec in _GB_FAMILY else codec


def decode_text(data: bytes, *, path: str | os.PathLike | None = None,
                encoding: str | None = None) -> tuple[str, str]:
    """Decode the bytes of a text file; return the text and the encoding used.

    With ``encoding`` given, only that encoding is tried. Otherwise a byte-order mark decides, then UTF-8,
    then GB18030 (see the module notes for why). Undecodable bytes raise :class:`~gridmap.errors.ReadError`
    naming the line of the first bad byte and the fix (``encoding=``).
    """
    if encoding is not None:
        codec = normalize_codec(encoding, path=path)
        if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"
        return _decode_or_raise(data, codec, path=path), codec
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode_or_raise(data, codec, path=path), codec
    for codec in _TRIAL:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        big5 = _big5_reading(data) if codec == "gb18030" else None
        if big5 is not None and _looks_big5(text, big5):
            _warn_big5(path, text, big5, stacklevel=5)  # the caller of read_layer
            return big5, "big5"
        return text, codec
    return _decode_or_raise(data, "utf-8", path=path, tried="UTF-8 or GB18030"), "utf-8"


def _big5_reading(data: bytes) -> str | None:
    try:
        return data.decode("big5")
    except UnicodeDecodeError:
        return None


def _rare(char: str, codec: str) -> bool:
    """Tell whether a non-ASCII character is rare in text of ``codec`` ("gb18030" or "big5")."""
    point = ord(char)
    if 0x3400 <= point <= 0x9FFF:  # Han characters (CJK Extension A and the Unified block)
        if codec == "gb18030":
            try:
                char.encode("gb2312")
            except UnicodeEncodeError:
                return True
            return False
        pair = char.encode("big5", "replace")
        return not 0xA440 <= int.from_bytes(pair[:2], "big") <= 0xC67E
    return any(low <= point <= high for low, high in _RARE_BLOCKS)


#: Blocks of symbols that a wrong decoding of Chinese text produces and real Chinese text hardly holds:
#: Greek and Cyrillic, enclosed numbers, kana, enclosed CJK and squared units, private use, compatibility
#: ideographs, vertical forms.
_RARE_BLOCKS = ((0x0370, 0x04FF), (0x2460, 0x24FF), (0x3040, 0x30FF), (0x3200, 0x33FF), (0xE000, 0xF8FF),
                (0xF900, 0xFAFF), (0xFE30, 0xFE4F))


def _rare_share(text: str, codec: str) -> float:
    wide = [char for char in text if ord(char) > 0x7F]
    return sum(_rare(char, codec) for char in wide) / len(wide) if wide else 0.0


def _looks_big5(gb18030: str, big5: str) -> bool:
    """Tell whether text read as GB18030 is rather Big5 (module notes: thresholds and measurements)."""
    if sum(ord(char) > 0x7F for char in big5) < _BIG5_MIN_CHARS:
        return False
    return _rare_share(gb18030, "gb18030") >= _BIG5_RARE_GB and _rare_share(big5, "big5") <= _BIG5_RARE_BIG5


def _warn_big5(path, gb18030: str, big5: str, *, stacklevel: int) -> None:
    """Warn that a text is read as Big5, showing its first Chinese words in both readings."""
    sample, wrong = (next(iter(_NON_ASCII.findall(text)), "")[:12] for text in (big5, gb18030))
    warnings.warn(
        f"{path}: the text is Big5 (Traditional Chinese), not GB18030; read as Big5 ({sample!r}, "
        f"which GB18030 would make {wrong!r}). Pass encoding='big5' to say so, or encoding='gb18030' if it "
        "is not",
        GridmapWarning, stacklevel=stacklevel + 1,
    )


def _decode_or_raise(data: bytes, codec: str, *, path, tried: str | None = None) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start: exc.start + 4]
        raise ReadError(
            f"text is not {tried or codec} (undecodable bytes {bad!r})", path=path, record=f"line {line}",
            fix=_FIX,
        ) from None


# --- shapefile attribute tables -------------------------------------------------------------------------

def _dbf_text(data: bytes) -> tuple[list[bytes], list[np.ndarray]]:
    """Return the field names and, per character field, its values as a (records x width) byte array.

    Numeric, date and logical fields are ASCII and play no part in the choice of encoding.
    """
    names, fields = _dbf_fields(data)
    return names, [block for _, block in fields]


def _dbf_fields(data: bytes) -> tuple[list[bytes], list[tuple[bytes, np.ndarray]]]:
    """Return the field names and the (name, values) of each character field (see :func:`_dbf_text`)."""
    if len(data) < 32:
        return [], []
    n_records, header_len, record_len = struct.unpack("<IHH", data[4:12])
    names, fields = [], []
    offset = 1  # byte 0 of every record is the deletion flag
    for start in range(32, min(header_len, len(data)) - 31, 32):
        if data[start] == 0x0D:
            break
        descriptor = data[start: start + 32]
        names.append(descriptor[:11].split(b"\x00", 1)[0])
        if descriptor[11:12] == b"C":
            fields.append((names[-1], offset, descriptor[16]))
        offset += descriptor[16]
    n_records = min(n_records, (len(data) - header_len) // record_len if record_len else 0)
    if n_records <= 0:
        return names, []
    table = np.frombuffer(data, dtype=np.uint8, count=n_records * record_len, offset=header_len)
    table = table.reshape(n_records, record_len)
    return names, [(name, table[:, start: start + width]) for name, start, width in fields
                   if start + width <= record_len]


def dbf_cut_text(data: bytes) -> tuple[int, bytes, bytes] | None:
    r"""Find the first text value of a .dbf that holds a NUL byte before more text, or None.

    Text fields are padded with blanks (some programs pad with NUL bytes); a NUL followed by other
    characters is inside the value, and GDAL would silently cut the value there.

    Returns
    -------
    tuple of (int, bytes, bytes) or None
        The record (0-based), the field name and the raw value.

    Examples
    --------
    >>> header = bytes([3, 0, 0, 0]) + (1).to_bytes(4, "little") + (65).to_bytes(2, "little")
    >>> header += (9).to_bytes(2, "little") + bytes(20)
    >>> field = b"NAME" + bytes(7) + b"C" + bytes(4) + bytes([8, 0]) + bytes(14)
    >>> dbf_cut_text(header + field + b"\r" + b" " + b"AB\x00CD   " + b"\x1a")
    (0, b'NAME', b'AB\x00CD')
    >>> dbf_cut_text(header + field + b"\r" + b" " + b"ABCD\x00\x00  " + b"\x1a") is None
    True
    """
    for name, block in _dbf_fields(data)[1]:
        after_nul = np.cumsum(block == 0, axis=1) > 0
        cut = np.flatnonzero((after_nul & (block != 0) & (block != 0x20)).any(axis=1))
        if len(cut):
            return int(cut[0]), name, block[cut[0]].tobytes().rstrip(b" \x00")
    return None


def _values_decode(values, codec: str) -> bool:
    """Tell whether every value decodes with ``codec``, allowing an incomplete sequence at the end.

    A fixed-width field may cut the last character of a long value in half; an incremental decoder with
    ``final=False`` does not hold that against the codec.
    """
    decoder = codecs.getincrementaldecoder(codec)()
    for value in values:
        try:
            decoder.decode(value, final=False)
        except UnicodeDecodeError:
            return False
        decoder.reset()
    return True


def _dbf_decodes(names: list[bytes], blocks: list[np.ndarray], codec: str) -> bool:
    """Tell whether the field names and all character values of a .dbf decode with ``codec``."""
    if not _values_decode(names, codec):
        return False
    for block in blocks:
        try:  # fast path: the whole field at once
            block.tobytes().decode(codec)
            continue
        except UnicodeDecodeError:
            pass
        if not _values_decode((row.tobytes().rstrip(b" \x00") for row in block), codec):
            return False
    return True


def _dbf_values_text(blocks: list[np.ndarray], codec: str) -> str:
    """Return the character values of a .dbf decoded with ``codec``, one a line (a cut character dropped)."""
    values = (row.tobytes().rstrip(b" \x00") for block in blocks for row in block)
    return "\n".join(value.decode(codec, "ignore") for value in values)


def detect_dbf_encoding(data: bytes) -> str | None:
    r"""Return ``"utf-8"`` or ``"gb18030"`` for the bytes of a .dbf file, or None when neither decodes it.

    Examples
    --------
    >>> header = bytes([3, 0, 0, 0]) + (1).to_bytes(4, "little") + (65).to_bytes(2, "little")
    >>> header += (9).to_bytes(2, "little") + bytes(20)
    >>> field = b"NAME" + bytes(7) + b"C" + bytes(4) + bytes([8, 0]) + bytes(14)
    >>> dbf = header + field + b"\r" + b" " + "兴宁".encode("gbk").ljust(8) + b"\x1a"
    >>> detect_dbf_encoding(dbf)
    'gb18030'
    """
    return _detect(*_dbf_text(data))


def _detect(names: list[bytes], blocks: list[np.ndarray]) -> str | None:
    return next((codec for codec in _TRIAL if _dbf_decodes(names, blocks, codec)), None)


def dbf_encoding(dbf: bytes, *, cpg: str | None = None, encoding: str | None = None,
                 path: str | os.PathLike | None = None) -> str:
    """Choose the encoding of a shapefile's attribute table.

    ``encoding`` (the user's) wins, then the ``.cpg`` text, then detection from the .dbf bytes
    (:func:`detect_dbf_encoding`). The choice is checked against the bytes: a user's encoding that does not
    decode them raises :class:`~gridmap.errors.ReadError`; a ``.cpg`` that is wrong while detection finds
    the real encoding gives a :class:`~gridmap.errors.GridmapWarning` and the detected encoding is used.
    """
    names, blocks = _dbf_text(dbf)
    if encoding is not None:
        codec = normalize_codec(encoding, path=path)
        if not _dbf_decodes(names, blocks, codec):
            raise ReadError(f"attribute table (.dbf) is not {codec}", path=path, fix=_FIX)
        return codec
    if cpg is not None:
        codec = normalize_codec(cpg, path=path)
        if _dbf_decodes(names, blocks, codec):
            return codec
    detected = _detect(names, blocks)
    if detected is None:
        raise ReadError("attribute table (.dbf) is neither UTF-8 nor GB18030/GBK", path=path, fix=_FIX)
    if detected == "gb18030" and cpg is None and _dbf_decodes(names, blocks, "big5"):
        texts = [_dbf_values_text(blocks, codec) for codec in ("gb18030", "big5")]
        if _looks_big5(*texts):
            _warn_big5(path, *texts, stacklevel=6)  # the caller of read_layer
            return "big5"
    if cpg is not None:
        warnings.warn(
            f"{path}: the .cpg says {cpg.strip()!r} but the attribute table is {detected}; "
            f"read as {detected}",
            GridmapWarning, stacklevel=6,  # the caller of read_layer
        )
    logger.info("%s: attribute table read as %s", path, detected)
    return detected
