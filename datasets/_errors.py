"""Exceptions raised by the dataset adapters.

Every message names the dataset, the path or URL concerned, what was expected, what was found and
how to fix it (usually a ``python -m benchmark data ...`` command).
"""

from __future__ import annotations

__all__ = ["DatasetNotFoundError", "DatasetIntegrityError", "DatasetDownloadError", "DATASET_ERRORS"]


class DatasetNotFoundError(FileNotFoundError):
    """A data file or folder of a dataset is missing."""


class DatasetIntegrityError(RuntimeError):
    """A data file exists but is corrupted, truncated, of the wrong size, count or checksum."""


class DatasetDownloadError(RuntimeError):
    """A download failed (no network, HTTP error); the message gives the manual steps."""


# What the CLI catches and prints as one line.
DATASET_ERRORS = (DatasetNotFoundError, DatasetIntegrityError, DatasetDownloadError)
