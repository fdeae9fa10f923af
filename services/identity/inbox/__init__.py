"""The in-app inbox (InboxService in the identity process, see identity/v1/inbox.proto):
its table and repository here, the handler in ``services.identity.handlers.inbox``."""
