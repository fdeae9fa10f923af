"""The telemetry service: samples from machines, MES and CRM → windows → key results."""
