"""The test suite, importable as ``tests`` so spawned workers can unpickle its task functions."""
