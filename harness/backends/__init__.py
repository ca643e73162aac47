"""Engines behind one interface. Each engine module imports its heavy libraries lazily."""
