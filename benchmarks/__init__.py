"""Benchmarks that print numbers against a baseline measured in the same run."""
