"""Loopback doubles of external services, for tests, benchmarks and the demo."""
