"""The one error raised for malformed input data."""
from __future__ import annotations

from pathlib import Path


class DataFormatError(ValueError):
    """A data file does not have the expected format.

    Messages name the file, the row or field at fault and what was expected, e.g.
    ``data/01_raw/baby/baby.inter: missing column 'itemID' (expected columns userID, itemID,
    x_label)``, so a user can fix the file without reading the code.
    """


def not_utf8(path: str | Path) -> DataFormatError:
    """The error for a text file that is not UTF-8, naming the first line that is not.
    Read line by line: a newline byte never occurs inside a UTF-8 multi-byte character."""
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                return DataFormatError(
                    f"{path} is not UTF-8 text: line {n} has byte 0x{line[e.start]:02x}; expected a "
                    "UTF-8 encoded text file (re-encode it, e.g. iconv -f latin1 -t utf-8)")
    return DataFormatError(f"{path} is not UTF-8 text; expected a UTF-8 encoded text file")
