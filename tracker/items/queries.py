"""A request's items, read in their order: the one query every part of the tracker uses."""

from sqlalchemy import select
from sqlalchemy.orm.interfaces import ORMOption

from tracker.extensions import db
from tracker.items.models import RequestItem


def items_of(request_id: int, *options: ORMOption) -> list[RequestItem]:
    """The request's items by position, loaded with ``options`` (their answers, say)."""
    return list(
        db.session.scalars(
            select(RequestItem)
            .where(RequestItem.request_id == request_id)
            .order_by(RequestItem.position, RequestItem.id)
            .options(*options)
        )
    )
