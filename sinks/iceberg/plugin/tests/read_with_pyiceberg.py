"""Reads a qdp Iceberg table with pyiceberg, an engine that shares no code
with qdp, and prints what it found as one JSON object.

usage: read_with_pyiceberg.py CATALOG_URI WAREHOUSE NAMESPACE TABLE
"""
import json
import sys

from pyiceberg.catalog.sql import SqlCatalog

uri, warehouse, namespace, table = sys.argv[1:5]
# qdp writes sqlx URLs; SQLAlchemy spells the same databases its own way.
if uri.startswith("sqlite://"):
    uri = "sqlite:///" + uri[len("sqlite://"):].split("?")[0]
elif uri.startswith(("postgres://", "postgresql://")):
    uri = "postgresql+psycopg2://" + uri.split("://", 1)[1]
catalog = SqlCatalog("qdp", uri=uri, warehouse=warehouse)
t = catalog.load_table(f"{namespace}.{table}")
arrow = t.scan().to_arrow()
cols = arrow.column_names
out = {
    "rows": arrow.num_rows,
    "columns": cols,
    "format_version": t.metadata.format_version,
    "partition_fields": [f.name for f in t.spec().fields],
    "snapshots": len(t.metadata.snapshots),
}
if "symbol_code" in cols and "tick_time" in cols:
    keys = set(zip(arrow.column("symbol_code").to_pylist(),
                   [v.value for v in arrow.column("tick_time")]))
    out["distinct_keys"] = len(keys)
    out["tick_time_type"] = str(arrow.schema.field("tick_time").type)
if "price" in cols:
    out["price_sum"] = sum(p for p in arrow.column("price").to_pylist() if p is not None)
print(json.dumps(out))
