"""The feedback service's handlers, one module per aggregate.

A write handler opens a unit of work (:class:`services.common.uow.Units`), loads through the
repository, calls the pure rules (``services.feedback.domain``), records rows, events (by
message type, ``services.feedback.events``) and audit entries, and commits. The gRPC
adapters in ``services.feedback.servicers`` only translate messages and call these.

- ``settings``: the organisation's feedback settings (the anonymity threshold).
"""
