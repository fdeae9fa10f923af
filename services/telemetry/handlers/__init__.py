"""Telemetry handlers: one module per aggregate."""
