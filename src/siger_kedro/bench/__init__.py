"""Benchmarks: run as scripts (`python -m siger_kedro.bench.<name>`), never from the tests."""
