"""A user's files in and out: tables (CSV, JSON lines, Parquet, gzip) read with errors
that name the place (:mod:`.tables`), records from GeoJSON/YAML/CSV (:mod:`.records`),
and ``tocsin detect`` on a file without a database (:mod:`.detection`)."""
