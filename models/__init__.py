"""Spatial panel and difference-in-differences estimators (spillmap.models)."""
