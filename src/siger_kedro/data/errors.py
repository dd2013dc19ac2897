"""The one error raised for malformed input data."""


class DataFormatError(ValueError):
    """A data file does not have the expected format.

    Messages name the file, the row or field at fault and what was expected, e.g.
    ``data/01_raw/baby/baby.inter: missing column 'itemID' (expected columns userID, itemID,
    x_label)``, so a user can fix the file without reading the code.
    """
