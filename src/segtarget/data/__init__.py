"""Data: canonical schemas, source adapters, ingest and the synthetic generator."""
