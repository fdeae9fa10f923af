"""Deterministic Temporal workflow code only: no I/O and no service imports.

Also the pure modules every layer shares (``ids``, ``vocabulary``): importing this package
imports nothing else, so a service that needs only the vocabulary does not load the Temporal
SDK. The search attribute keys are in ``workflows.search_attributes``.
"""
