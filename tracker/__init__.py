"""Records Tracker: draft, track and chase public-records requests."""

import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, redirect, url_for
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Response

from tracker.extensions import csrf, db, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_ROOT = Path(__file__).resolve().parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; ``config`` overrides settings (tests pass theirs here)."""
    from tracker.config import configure
    from tracker.inputs import IdConverter, PathPart, TrackerRequest
    from tracker.limits import BodyDeadline

    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("TRACKER_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PACKAGE_ROOT / "static"),
    )
    configure(app, config)
    # Before any route is added: an id too large for its column, or a part of an address
    # with a NUL in it, is "not found"; query strings and forms are read without NUL.
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = PathPart
    app.request_class = TrackerRequest
    app.wsgi_app = BodyDeadline(  # type: ignore[method-assign]
        app.wsgi_app,
        grace=float(app.config["BODY_TIMEOUT"]),
        min_rate=float(app.config["BODY_MIN_RATE_KB"]) * 1024,
    )

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(PACKAGE_ROOT / "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    login_manager.init_app(app)

    from tracker import (
        admin,
        agencies,
        auth,
        deadlines,
        documents,
        errors,
        fees,
        letters,
        mail,
        models,  # noqa: F401  (every model, for Alembic)
        organizations,
        requests,
        scorecards,
        search,
        security,
        series,
        tasks,
        views,
    )
    from tracker.items import routes as item_routes
    from tracker.publishing import public
    from tracker.publishing import routes as publishing_routes

    tasks.init_app(app)
    auth.init_app(app)
    security.init_security(app)
    errors.init_app(app)
    views.init_app(app)
    app.register_blueprint(admin.bp)
    app.register_blueprint(agencies.bp)
    app.register_blueprint(organizations.bp)
    app.register_blueprint(requests.bp)
    app.register_blueprint(letters.bp)
    app.register_blueprint(deadlines.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(item_routes.bp)
    app.register_blueprint(mail.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(fees.bp)
    app.register_blueprint(scorecards.bp)
    app.register_blueprint(publishing_routes.bp)
    app.register_blueprint(series.bp)
    public.init_app(app)

    @app.get("/")
    def index() -> Response:
        return redirect(url_for("requests.list_requests"))

    @app.get("/healthz", endpoint="health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    from tracker.cli import register_commands

    register_commands(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets readers work while one writer commits; the busy timeout makes a
    # second writer wait rather than fail; SQLite leaves foreign keys off by default.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
