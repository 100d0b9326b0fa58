"""How it sounds: the engine protocol, the registry and the worker pool."""
