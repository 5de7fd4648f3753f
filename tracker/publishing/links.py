"""The public addresses of what is published, named by public key only."""


def public_request_path(key: str) -> str:
    return f"/public/requests/{key}"


def public_document_path(key: str) -> str:
    return f"/public/documents/{key}"
