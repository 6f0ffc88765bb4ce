"""Benchmarks of qrad at building scale (`python -m benchmarks`, see README.md here)."""
