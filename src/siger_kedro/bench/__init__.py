"""Benchmarks, run as scripts: `python -m siger_kedro.bench` (stages, scaling curves, epoch
floors) and `python -m siger_kedro.bench.features` (encoder throughput). The tests only run the
stage benchmark at tiny sizes to check its output's shape; its numbers come from real runs."""
