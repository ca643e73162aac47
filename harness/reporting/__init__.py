"""Reporting: everything that reads finished score files and presents them.

The leaderboard (building it, and its Markdown/CSV/JSON/HTML files), charts, paired comparison of two
runs, reported reference figures, and the plain-text summaries of the command line. Nothing here runs a
model or writes a score file; the engine never imports this package.
"""
