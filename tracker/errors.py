"""Error pages that say what went wrong for the user and nothing about the server."""

from flask import Flask, Response, make_response, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from tracker.extensions import db

MESSAGES = {
    400: ("Bad request", "The form or link was not understood. Go back and try again."),
    403: ("Not allowed", "Your account's role does not allow this. Ask an admin if you need it."),
    404: ("Not found", "There is nothing at this address. It may have moved or never existed."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    408: ("Too slow", "What you sent arrived too slowly and was not read. Try again."),
    410: (
        "File missing",
        "The file of this document is missing from storage; an admin can run tracker doctor.",
    ),
    413: ("Too large", "What you sent is larger than the tracker accepts."),
    429: ("Slow down", "Too many attempts in a short time. Wait a few minutes and try again."),
    500: ("Something went wrong", "The tracker hit an error and changed nothing. Try again."),
}


def render_error(code: int, detail: str | None = None) -> tuple[str, int]:
    title, message = MESSAGES.get(code, ("Error", "Something went wrong."))
    return (
        render_template("errors/error.html", code=code, title=title, message=detail or message),
        code,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            "This form had expired or did not come from the tracker. Go back, reload the page "
            "and submit it again; nothing was changed.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        response = make_response(render_error(error.code or 500))
        # Keep what the error says beside its body, e.g. the Allow header of a 405.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> tuple[str, int]:
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render_error(500)
