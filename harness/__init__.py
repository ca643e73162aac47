"""An evaluation harness for locally hosted open models on math and code tasks."""

__version__ = "0.1.0"
