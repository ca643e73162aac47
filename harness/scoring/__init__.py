"""Pure scoring functions: answer extraction and equivalence, code grading, metrics."""
