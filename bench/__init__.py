"""Reproducible benchmarks (``make bench``): each prints ratios against raw engine ceilings."""
