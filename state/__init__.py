"""Baton's own database: canonical contacts, links and shadows, cursors, the
outbox of planned writes, dead letters and the record of every run."""
