"""Read-only reporting: aggregates with suppression, exports, reports, evidence packs."""
