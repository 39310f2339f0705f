"""Measuring quality: gold sets, metrics, batch evaluation and its report."""
