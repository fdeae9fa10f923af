"""Request and response bodies of the REST API, one module per resource beside its router
(``gateway/routers/cycles.py`` ↔ ``gateway/schemas/cycles.py``), plus :mod:`.common` (the
request/response bases, the page envelope, shared field types) and :mod:`.words` (the
vocabulary's words as field types).

Field names mirror the protobuf messages; enums are short lower-case strings ("open",
"at_risk"); ids are strings. Limits and words come from workflows/vocabulary.py.
"""
