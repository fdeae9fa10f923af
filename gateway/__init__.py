"""Stride's HTTP gateway: REST + OpenAPI in front of the gRPC services and Temporal."""
