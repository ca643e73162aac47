"""Built-in tasks. Each module is a plugin registered through the `harness.tasks` entry-point group."""
