"""`accord import`: existing agreements from a CSV or XLSX file (docs/feeds-reports-import.md).

A room of its own (docs/architecture.md, "Rooms"): `files` reads a file within limits and knows
nothing of the database; `service` checks every row by the API's schemas and writes them through
the engine. The CLI (api/cli.py), the tests and bench/hostile_imports.py use what is listed here;
nothing else in the engine imports this package.
"""

from engine.importing.files import ImportFileError, ImportLimits, ImportTables, read_tables
from engine.importing.service import (
    IMPORTER,
    ImportReport,
    Progress,
    RowProblem,
    import_file,
    import_tables,
)

__all__ = [
    "IMPORTER",
    "ImportFileError",
    "ImportLimits",
    "ImportReport",
    "ImportTables",
    "Progress",
    "RowProblem",
    "import_file",
    "import_tables",
    "read_tables",
]
