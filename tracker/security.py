"""The security baseline shared by every page: login by default, roles, headers."""

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, redirect, request, url_for
from flask_login import current_user

from tracker.auth.models import Role
from tracker.extensions import csrf
from tracker.limits import PUBLIC_FORM_BYTES, upload_limits

P = ParamSpec("P")
R = TypeVar("R")

# Endpoints anyone may reach without signing in.
PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.login",
        "auth.setup",
        "auth.accept_invitation",
        "auth.reset_password",
        "static",
        "health",
        "deadlines.calculator",
        "deadlines.feed",
        # The public records room (tracker.publishing.public).
        "public.index",
        "public.show_request",
        "public.show_document",
        "public.download_document",
        "public.search",
        "public.feed",
        "public.agencies",
        "public.agency",
        "public.show_series",
    }
)
# What someone whose password an admin typed may still reach before choosing their own.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.password", "auth.logout"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def roles_required(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Refuse the view (403) to a signed-in user whose role is not listed.

    The roles are kept on the view, so that ``check_body`` refuses the request
    before its body is read; the view checks again for itself.
    """

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated or current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def is_safe_redirect(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no protocol-relative tricks."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def link_args() -> dict[str, str]:
    """The query string to carry into links back to the same page (pagers, tabs).

    ``url_for`` takes arguments that start with ``_`` as its own options
    (``_external``, ``_scheme``, ``_anchor``, ``_method``): those never come from
    the address bar, where they could make a link point elsewhere or fail to build.
    """
    return {key: value for key, value in request.args.items() if not key.startswith("_")}


def init_security(app: Flask) -> None:
    app.jinja_env.globals["link_args"] = link_args

    @app.before_request
    def require_login() -> Response | None:
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            next_path = request.full_path if request.method == "GET" else None
            if next_path and next_path.endswith("?"):
                next_path = next_path[:-1]
            return redirect(url_for("auth.login", next=next_path))  # type: ignore[return-value]
        return None

    @app.before_request
    def require_own_password() -> Response | None:
        if (
            request.endpoint in PUBLIC_ENDPOINTS
            or request.endpoint in PASSWORD_CHANGE_ENDPOINTS
            or request.endpoint is None
            or not current_user.is_authenticated
            or not current_user.must_change_password
        ):
            return None
        return redirect(url_for("auth.password"))  # type: ignore[return-value]

    @app.before_request
    def check_body() -> None:
        """Who may send a body, and how large, is settled before any of it is read.

        Registered after the sign-in checks: a request they turn away, or one
        whose role does not allow the view, is answered without reading its body.
        Only then is the CSRF token read from the form (the check Flask-WTF would
        otherwise make before every other ``before_request``).
        """
        view = current_app.view_functions.get(request.endpoint or "")
        roles = getattr(view, "required_roles", None)
        if roles is not None and (
            not current_user.is_authenticated or current_user.role not in roles
        ):
            abort(403)
        limits = upload_limits()
        if limits is not None:
            request.max_content_length = limits[1]
        elif not current_user.is_authenticated:
            request.max_content_length = min(
                PUBLIC_FORM_BYTES, current_app.config["MAX_CONTENT_LENGTH"]
            )
        limit = request.max_content_length
        if limit is not None and (request.content_length or 0) > limit:
            abort(413)
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect(apply_exemptions=True)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
