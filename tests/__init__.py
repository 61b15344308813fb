"""The test suite (a regular package: gmqtt installs a top-level `tests` package that would shadow it)."""
