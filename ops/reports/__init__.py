"""Scheduled business reports (HTML e-mail with inline charts)."""
