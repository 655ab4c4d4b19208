"""Pure logic of the enriched topics and the status dashboard: joins, versions, counters."""
