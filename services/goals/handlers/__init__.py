"""The goals service's write and read handlers, one module per aggregate.

Each write handler is "open a unit of work → load → call the pure domain (services.goals.domain)
→ record rows, audit entries and events → commit"; the gRPC adapter (services/goals/servicer.py)
only hands requests in and messages out.
"""
