"""The Parquet source and the DuckDB connection that reads it (DuckDB imported lazily)."""

from __future__ import annotations

import tempfile
import weakref
from pathlib import Path

from .._threads import usable_cores
from ..errors import ResponseDataError, SurveykitError

__all__ = ["Source", "MissingDependencyError", "ident", "literal", "number"]

_SUFFIXES = (".parquet", ".pq")


class MissingDependencyError(SurveykitError, ImportError):
    """An optional dependency needed for this call is not installed."""


def _duckdb():
    try:
        import duckdb
    except ImportError:
        raise MissingDependencyError(
            "data larger than memory are read with DuckDB, which is not installed; install "
            "it with `pip install 'surveykit[scale]'` (or `pip install duckdb`)") from None
    return duckdb


def ident(name: str) -> str:
    """A column name quoted for SQL."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value) -> str:
    """A constant for SQL: a number as written, text quoted."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float) or hasattr(value, "dtype"):
        return number(float(value))
    return "'" + str(value).replace("'", "''") + "'"


def number(x: float) -> str:
    """A float for SQL, exactly (``repr`` round-trips)."""
    return f"CAST({float(x)!r} AS DOUBLE)" if x == x else "CAST('NaN' AS DOUBLE)"


class Source:
    """One Parquet file or a folder of Parquet files (read in file-name order), queried by
    DuckDB within ``memory_limit``."""

    def __init__(self, path, *, memory_limit: str = "1.5GB", threads: int | None = None):
        path = Path(path)
        if not path.exists():
            raise ResponseDataError(f"{path}: not found; give a .parquet file or a folder of "
                                    ".parquet files")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in _SUFFIXES
                           and p.is_file())
            if not files:
                raise ResponseDataError(f"{path}: the folder holds no .parquet file; write the "
                                        "responses as Parquet (one or more files)")
        elif path.suffix.lower() in _SUFFIXES:
            files = [path]
        else:
            raise ResponseDataError(f"{path}: not a Parquet file (.parquet / .pq); out-of-core "
                                    "analysis reads Parquet, convert other formats first")
        self.path, self.files = path, files
        duckdb = _duckdb()
        self.con = duckdb.connect()
        self._tmp = tempfile.mkdtemp(prefix="surveykit-duckdb-")
        weakref.finalize(self, _close, self.con, self._tmp)
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute(f"SET memory_limit = {literal(memory_limit)}")
        self.con.execute(f"SET temp_directory = {literal(self._tmp)}")
        self.con.execute(f"SET threads = {int(threads or usable_cores())}")
        listed = ", ".join(literal(str(f)) for f in files)
        try:
            self.con.execute(f"CREATE VIEW data AS SELECT * FROM read_parquet([{listed}], "
                             "union_by_name = true)")
            schema = self.con.execute("DESCRIBE data").fetchall()
        except duckdb.Error as exc:
            raise ResponseDataError(f"{path}: cannot read as Parquet ({exc}); check that the "
                                    "files are complete Parquet files") from None
        self.types = {name: typ for name, typ, *_ in schema}
        self.columns = list(self.types)
        self.n = int(self.scalar("SELECT count(*) FROM data"))
        self._pos = False

    def positions(self) -> str:
        """A view of the data with ``pos``, the 0-based row number in file order (the
        row label :meth:`batches` gives)."""
        if not self._pos:
            import pyarrow.parquet as pq

            start, values = 0, []
            for f in self.files:
                values.append(f"({literal(str(f))}, {start})")
                start += pq.read_metadata(f).num_rows
            listed = ", ".join(literal(str(f)) for f in self.files)
            self.con.execute(
                "CREATE VIEW data_pos AS SELECT d.* EXCLUDE (filename, file_row_number), "
                "o.start + d.file_row_number AS pos FROM read_parquet("
                f"[{listed}], union_by_name = true, filename = true, file_row_number = true) d "
                f"JOIN (VALUES {', '.join(values)}) o(file, start) ON d.filename = o.file")
            self._pos = True
        return "data_pos"

    def scalar(self, query: str):
        return self.con.execute(query).fetchall()[0][0]

    def frame(self, query: str):
        """A (small) query result as a pandas DataFrame."""
        return self.con.execute(query).df()

    def is_text(self, column: str) -> bool:
        return self.types.get(column, "").upper() in ("VARCHAR", "STRING", "TEXT")

    def batches(self, columns: list[str] | None = None, rows: int = 100_000):
        """The rows in file order, ``rows`` at a time, as pandas DataFrames (at least one)."""
        cols = "*" if columns is None else ", ".join(ident(c) for c in columns)
        import pyarrow as pa

        cursor = self.con.cursor()      # the other queries may run while this one streams
        reader = cursor.sql(f"SELECT {cols} FROM data").to_arrow_reader(rows)
        held, size, done = [], 0, False
        for batch in reader:            # DuckDB hands out row groups: gather to `rows`
            held.append(batch)
            size += batch.num_rows
            if size >= rows:
                yield pa.Table.from_batches(held).to_pandas()
                held, size, done = [], 0, True
        if held or not done:            # no rows at all: one empty block with the columns
            yield pa.Table.from_batches(held, schema=reader.schema).to_pandas()



def _close(con, folder: str) -> None:
    """Close the connection and remove its spill folder (at garbage collection or exit)."""
    import shutil

    try:
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
