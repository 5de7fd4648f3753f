"""The public addresses of what is published, named by public key only."""

from flask import url_for


def public_request_path(key: str) -> str:
    return url_for("public.show_request", key=key)


def public_document_path(key: str) -> str:
    return url_for("public.show_document", key=key)
