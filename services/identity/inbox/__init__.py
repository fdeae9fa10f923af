"""The in-app inbox: InboxService in the identity process (see identity/v1/inbox.proto)."""
