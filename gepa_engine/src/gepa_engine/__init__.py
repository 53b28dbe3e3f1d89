"""GEPA: Genetic-Pareto reflective prompt evolution, as a pure, stepped engine."""
