"""Pure rules of the telemetry service (no I/O): sample validation, windows in org time,
aggregations, push coalescing and staleness."""
