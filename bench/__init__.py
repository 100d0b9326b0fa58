"""Benchmarks: speed and memory measured side by side with a baseline."""
