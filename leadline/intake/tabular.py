"""Read spreadsheets people actually send: CSV in any common encoding and delimiter, or XLSX.

`open_table(path)` sniffs the file once (format, encoding, delimiter, header row) and `rows()`
streams the data rows as `(row_number, cells)` without ever loading the whole file. Row numbers
are the ones a spreadsheet shows: the header is row 1 when it is the first line, and a quoted
newline inside a cell does not start a new row.
"""

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
MAX_CELL = 1_000_000
UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
csv.field_size_limit(MAX_CELL)


class TableError(Exception):
    """The file cannot be read as a table at all (the message says why, for the user)."""


def _cp1252_fallback(error: UnicodeDecodeError):
    # A file that is mostly UTF-8 with a few Windows-1252 bytes (an old row pasted in) keeps
    # those characters instead of failing half-way through a million rows.
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error("leadline-cp1252", _cp1252_fallback)


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig / utf-16 (with or without BOM) / utf-8 / cp1252 / latin-1."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = sample[:4096]
    if len(head) >= 4:
        # UTF-16 without a BOM: text in Latin script has a NUL in every other byte.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > len(head) // 4 and even == 0:
            return "utf-16-le"
        if even > len(head) // 4 and odd == 0:
            return "utf-16-be"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)  # a sample may end inside a character
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # UTF-8 with some Windows-1252 rows pasted in: read it as UTF-8, and the bytes that are not
    # UTF-8 one by one as Windows-1252 (see _cp1252_fallback), so both kinds of rows come out
    # right. Plain Windows-1252 text almost never contains a valid UTF-8 sequence.
    if UTF8_SEQUENCE.search(sample):
        return "utf-8"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the sample's rows into the most, and most consistent, columns."""
    lines = text.splitlines(keepends=True)
    if len(lines) > 1:
        lines = lines[:-1]  # the sample's last line may be cut short
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        try:
            rows = list(itertools.islice(csv.reader(lines, delimiter=delimiter), 50))
        except csv.Error:
            continue
        rows = [r for r in rows if any(c.strip() for c in r)]
        if not rows:
            continue
        width = len(_trim(rows[0]))
        if width < 2:
            continue
        consistent = sum(1 for r in rows if len(_trim(r)) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _trim(cells: list) -> list:
    """Cells without the empty ones trailing at the end of a row."""
    end = len(cells)
    while end and (cells[end - 1] is None or str(cells[end - 1]).strip() == ""):
        end -= 1
    return cells[:end]


def _blank(cells) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read, for a progress bar on a streamed file."""

    def __init__(self, raw):
        self.raw, self.count = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        self.count += n or 0
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


@dataclass
class Table:
    path: Path
    format: str
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    header_row: int = 1
    estimated_rows: int | None = None
    bytes_read: int = 0
    _counter: _CountingReader | None = None

    def rows(self) -> Iterator[tuple[int, list]]:
        """Data rows after the header, as (spreadsheet row number, cells); blank rows skipped."""
        source = self._xlsx_rows() if self.format == "xlsx" else self._csv_rows()
        for number, cells in source:
            if number <= self.header_row or _blank(cells):
                continue
            yield number, cells

    @property
    def position(self) -> int:
        return self._counter.count if self._counter else 0

    def _csv_rows(self) -> Iterator[tuple[int, list]]:
        with open(self.path, "rb") as raw:
            self._counter = _CountingReader(raw)
            buffered = io.BufferedReader(self._counter, buffer_size=1 << 16)
            errors = "leadline-cp1252" if self.encoding.startswith("utf-8") else "replace"
            text = io.TextIOWrapper(buffered, encoding=self.encoding, errors=errors, newline="")
            reader = csv.reader(text, delimiter=self.delimiter)
            number = 0
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    # A malformed record (e.g. a cell over the size limit) becomes a row the
                    # report refuses; the rest of the file goes on.
                    number += 1
                    yield number, [_BadRow(str(exc))]
                    continue
                number += 1
                yield number, cells

    def _xlsx_rows(self) -> Iterator[tuple[int, list]]:
        workbook = _open_workbook(self.path)
        try:
            sheet, _stated = _data_sheet(workbook)
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [excel_value(c) for c in cells]
        finally:
            workbook.close()


class _BadRow(str):
    """A placeholder cell for a record the CSV parser refused; its text is the parser's reason."""


def is_bad_row(cells: list) -> str | None:
    if len(cells) == 1 and isinstance(cells[0], _BadRow):
        return str(cells[0])
    return None


def excel_value(value):
    """Cell values from openpyxl as the text a person would have typed (dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # What Excel shows: 15 significant digits, not binary noise (0.30000000000000004).
        return format(value, ".15g")
    return value if isinstance(value, str) else str(value)


def _open_workbook(path: Path):
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 — openpyxl raises many kinds for a broken file
        raise TableError(f"not a readable XLSX workbook ({exc})") from None


def _data_sheet(workbook):
    """The active sheet, or the first one with more than a header in it, and the number of rows
    the sheet says it has (only an estimate: some programs write a wrong size, so every row is
    read whatever the sheet says)."""
    sheets = [workbook.active] if workbook.active is not None else []
    sheets += [s for s in workbook.worksheets if s is not workbook.active]
    first = None
    for sheet in sheets:
        stated = getattr(sheet, "max_row", None)
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        rows = itertools.islice(sheet.iter_rows(values_only=True), 50)
        filled = sum(1 for cells in rows if not _blank(cells))
        if first is None:
            first = (sheet, stated)
        if filled > 1:
            return sheet, stated
    return first


HEADER_SPACES = re.compile(r"\s+")


def _header_names(cells: list) -> list[str]:
    names = [HEADER_SPACES.sub(" ", str(c or "")).strip().lstrip("\ufeff") for c in _trim(cells)]
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name:
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name} ({seen[name]})"
        out.append(name)
    return out


def _find_header(source) -> tuple[list[str], int]:
    """The header row: the first non-blank one, unless it is a title above the table (a report
    export's "Leads by source" line, its filters): a line of a single cell, followed within the
    next rows by one with several."""
    candidates = []
    for number, cells in source:
        if is_bad_row(cells) or _blank(cells):
            continue
        candidates.append((number, cells))
        if len(candidates) == 10:
            break
    if not candidates:
        return [], 1
    tables = [c for c in candidates if not _is_title(c[1])]
    number, cells = tables[0] if tables else candidates[0]
    return _header_names(cells), number


def _is_title(cells: list) -> bool:
    # A CSV line "Leads by source" has one cell; "Email,," has three (an empty-named column).
    # In a workbook, the cells after a title are None.
    return all(c is None for c in cells[1:])


def sniff_format(head: bytes, path: Path) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableError("old Excel .xls files are not supported: save it as .xlsx or CSV")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise TableError("the file is named .xlsx but is not an Excel workbook")
    return "csv"


def open_table(path, *, encoding: str = "", delimiter: str = "") -> Table:
    """Sniff a file and find its header row (the first row that is not blank)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(SAMPLE_BYTES)
    except OSError as exc:
        raise TableError(f"cannot read the file ({exc.strerror})") from None
    if not head.strip():
        raise TableError("the file is empty")
    table = Table(path=path, format=sniff_format(head, path))
    if table.format == "csv":
        table.encoding = encoding or detect_encoding(head)
        text = head.decode(table.encoding, errors="replace")
        table.delimiter = delimiter or detect_delimiter(text.lstrip("\ufeff"))
        if not any(ch.isprintable() and not ch.isspace() for ch in text[:2000]):
            raise TableError("the file does not contain text")
    else:
        workbook = _open_workbook(path)
        try:
            _sheet, stated = _data_sheet(workbook)
            table.estimated_rows = max(0, (stated or 1) - 1) or None
        finally:
            workbook.close()
    source = table._xlsx_rows() if table.format == "xlsx" else table._csv_rows()
    table.headers, table.header_row = _find_header(source)
    source.close()
    if not any(table.headers):
        raise TableError("no header row found")
    if table.format == "csv" and table.estimated_rows is None:
        table.estimated_rows = _estimate_rows(path, head)
    return table


def _estimate_rows(path: Path, head: bytes) -> int | None:
    lines = head.count(b"\n")
    if not lines:
        return None
    size = path.stat().st_size
    if size <= len(head):
        return max(0, lines - 1 + (0 if head.endswith(b"\n") else 1))
    return int(size / (len(head) / lines))


def samples(table: Table, count: int = 3) -> list[list[str]]:
    """The first few rows' cells, for the mapping page."""
    out = []
    rows = table.rows()
    try:
        for _number, cells in itertools.islice(rows, count * 3):
            if is_bad_row(cells):
                continue
            out.append([str(c)[:80] for c in cells[: len(table.headers)]])
            if len(out) == count:
                break
    finally:
        rows.close()
    return out
