"""What the tests and the benchmarks share: real servers on loopback ports, and text to read.

Not part of the installed package. ``tests/`` and ``bench/`` both import it; neither
imports the other.
"""
