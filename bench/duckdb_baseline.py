"""The comparison for `winback audit --scores`: DuckDB computing, from the same CSV, each
client's last visit, visit count, mean interval and total spend per category, written to CSV.

Usage: duckdb_baseline.py EXPORT.csv OUT.csv
"""
import sys

import duckdb

export, out = sys.argv[1], sys.argv[2]
duckdb.connect().execute(
    f"""
    COPY (
      SELECT client_id,
             service_category,
             max(CAST(occurred_at AS TIMESTAMP)) AS last_visit,
             count(*) AS visits,
             CASE WHEN count(*) > 1 THEN
               date_diff('day', min(CAST(occurred_at AS TIMESTAMP)), max(CAST(occurred_at AS TIMESTAMP))) / (count(*) - 1)
             END AS mean_interval_days,
             sum(amount) AS total_spend
      FROM read_csv('{export}', header = true)
      WHERE status = 'completed'
      GROUP BY client_id, service_category
    ) TO '{out}' (HEADER)
    """
)
