"""Running Vallum on Spark: scan a DataFrame's text column on the executors.

:func:`scan_dataframe` adds a column of reports to a DataFrame with
``DataFrame.mapInArrow``: each executor gets the :class:`~vallum.Guard` by pickling (it
rebuilds from its policy), and scans every Arrow batch with :meth:`Guard.scan_arrow`,
reading the strings where Spark put them, with the GIL released and on every core of the
executor. The logic is the Rust core's, so the results equal a local ``scan_batch``.

    >>> from vallum.spark import scan_dataframe          # doctest: +SKIP
    >>> scanned = scan_dataframe(df, vallum.Guard(), "text")
    >>> scanned.where("vallum.verdict != 'allow'").select("id", "vallum.findings").show()

This module needs ``pyspark`` (and ``pyarrow``), which the ``vallum`` package does not
install; it imports them when called.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from vallum._vallum import Guard

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructType

__all__ = ["result_schema", "scan_batches", "scan_dataframe"]


def result_schema() -> StructType:
    """The Spark type of the report column: ``verdict`` (``allow``/``flag``/``block``),
    ``score``, and ``findings`` (``category``, ``kind``, ``rule``, ``start``, ``end``
    (code-point offsets), ``score``, ``action``): the type :meth:`Guard.scan_arrow` returns."""
    from pyspark.sql.types import (
        ArrayType,
        DoubleType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    finding = StructType(
        [
            StructField("category", StringType(), False),
            StructField("kind", StringType(), False),
            StructField("rule", StringType(), False),
            StructField("start", LongType(), False),
            StructField("end", LongType(), False),
            StructField("score", DoubleType(), False),
            StructField("action", StringType(), False),
        ]
    )
    return StructType(
        [
            StructField("verdict", StringType(), False),
            StructField("score", DoubleType(), False),
            StructField("findings", ArrayType(finding, containsNull=False), False),
        ]
    )


def scan_batches(
    batches: Iterator[Any],
    guard: Guard,
    column: str,
    direction: Literal["input", "output"] = "input",
    output_column: str = "vallum",
) -> Iterator[Any]:
    """Adds ``output_column`` (the reports) to each ``pyarrow.RecordBatch``: the function
    ``mapInArrow`` runs on the executors (usable as is with other Arrow batch APIs, e.g.
    Ray Data's ``map_batches(batch_format="pyarrow")``)."""
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

    for batch in batches:
        reports = guard.scan_arrow(batch.column(column), direction)
        yield pa.RecordBatch.from_arrays(
            [*batch.columns, reports], names=[*batch.schema.names, output_column]
        )


def scan_dataframe(
    df: DataFrame,
    guard: Guard,
    column: str = "text",
    *,
    direction: Literal["input", "output"] = "input",
    output_column: str = "vallum",
) -> DataFrame:
    """``df`` with one more column, ``output_column``, holding the report of ``column``'s
    text in each row (null where the text is null), computed on the executors with
    ``mapInArrow``. The guard is shipped to them by pickling (its policy travels, the
    compiled guard is rebuilt once per Python worker)."""
    from pyspark.sql.types import StructField, StructType

    if column not in df.columns:
        raise ValueError(f"the DataFrame has no column {column!r} (columns: {df.columns})")
    if output_column in df.columns:
        raise ValueError(f"the DataFrame already has a column {output_column!r}")
    schema = StructType([*df.schema.fields, StructField(output_column, result_schema(), True)])

    def scan(batches: Iterator[Any]) -> Iterator[Any]:
        return scan_batches(batches, guard, column, direction, output_column)

    return df.mapInArrow(scan, schema)
