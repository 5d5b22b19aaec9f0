"""Records <-> pandas: one row per record, the columns every summary and renderer reads."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from .records import IDENTITY_FIELDS, Record, canonical_json

__all__ = ["FRAME_COLUMNS", "records_to_frame"]

#: Columns of :func:`records_to_frame` (and of ``Store.table``), in order.
FRAME_COLUMNS: tuple[str, ...] = (*IDENTITY_FIELDS, "value", "status", "provenance", "error", "created_at",
                                  "record_id")


def records_to_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per record; ``metric_params`` as canonical JSON text so it can be grouped on."""
    rows = []
    for r in records:
        row = {f: getattr(r, f) for f in IDENTITY_FIELDS}
        row["metric_params"] = canonical_json(r.metric_params)
        row.update(value=r.value, status=r.status, provenance=r.provenance, error=r.error,
                   created_at=r.created_at, record_id=r.record_id)
        rows.append(row)
    df = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    df["value"] = df["value"].astype("float64")
    for col in ("train_seed", "eval_seed"):
        df[col] = df[col].astype("int64")
    return df
