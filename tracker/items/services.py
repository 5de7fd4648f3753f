"""Making and changing a request's items. Every change leaves an event; callers commit.

While a request is a draft its items are the advocate's to shape: add, reword, split,
merge, remove. Once it is sent the agency has the letter, whose numbering the answers
follow, so the numbering stays as sent: staff may still reword an item (to record how it
was narrowed with the agency, with the reason on the timeline), and anyone who may edit
the request may withdraw an item that is still open, saying why.
"""

import re
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import func, select

from tracker.auth.models import Role, User
from tracker.extensions import db
from tracker.items import queries
from tracker.items.models import ItemAnswer, ItemState, RequestItem, document_items
from tracker.requests.models import RecordsRequest, RequestEvent, RequestStatus
from tracker.requests.services import can_edit

MAX_ITEM = 5000
# An item that starts a line as "1." or "1)" or "(1)".
_NUMBERED = re.compile(r"(?m)^[ \t]*(?:\(\d{1,3}\)|\d{1,3}[.)])[ \t]+")


class ItemError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def one_line(text: str) -> str:
    return " ".join(text.split())


def tidy(text: str) -> str:
    """An item's text as typed, without spaces around it and its lines or paragraphs
    kept, but no run of blank lines."""
    lines = [line.rstrip() for line in (text or "").replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def items_from_records_sought(text: str) -> list[str]:
    """The items of a records-sought text: one per entry of a numbered list ("1. …",
    "2) …", "(3) …") that starts a line, with any words before the list kept as the
    first item's lead-in; the whole text as one item when it is no list."""
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        return []
    starts = list(_NUMBERED.finditer(text))
    if len(starts) < 2:
        return [tidy(text)]
    entries = []
    for number, match in enumerate(starts):
        end = starts[number + 1].start() if number + 1 < len(starts) else len(text)
        entries.append(one_line(text[match.end() : end]))
    lead = one_line(text[: starts[0].start()])
    if lead:
        entries[0] = f"{lead} {entries[0]}"
    return [entry for entry in entries if entry]


class _ListItems(HTMLParser):
    """The text of each ``<li>`` of the first ``<ol>`` in a letter's body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[str] = []
        self.depth = 0
        self.done = False
        self.current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if self.done:
            return
        if tag == "ol":
            self.depth += 1
        elif tag == "li" and self.depth == 1:
            self.current = []

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if tag == "li" and self.depth == 1 and self.current is not None:
            self.items.append(one_line("".join(self.current)))
            self.current = None
        elif tag == "ol" and self.depth:
            self.depth -= 1
            self.done = self.depth == 0

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.current.append(data)


def items_from_letter(body_html: str, records: str) -> list[str]:
    """A drafted letter's items: its own numbered paragraphs (the body's ``<ol>``), or,
    for a letter without one, its records sought read as ``items_from_records_sought``."""
    parser = _ListItems()
    parser.feed(body_html or "")
    parser.close()
    items = [item for item in parser.items if item]
    return items or items_from_records_sought(records)


def items_of(request: RecordsRequest) -> list[RequestItem]:
    return queries.items_of(request.id)


def first_items(request: RecordsRequest, texts: Sequence[str]) -> list[RequestItem]:
    """The items a new request starts with: ``texts``, or else one item holding its
    records sought (its title when there are none)."""
    texts = [tidy(text) for text in texts if tidy(text)]
    if not texts:
        texts = [request.records_sought.strip() or request.title]
    items = [
        RequestItem(request=request, position=position, description=text)
        for position, text in enumerate(texts, start=1)
    ]
    db.session.add_all(items)
    return items


# Who may do what ---------------------------------------------------------------


def can_shape(user: User, request: RecordsRequest) -> bool:
    """Add, split, merge and remove: only while the request is a draft."""
    return request.status is RequestStatus.DRAFT and can_edit(user, request)


def can_reword(user: User, request: RecordsRequest) -> bool:
    if request.status is RequestStatus.DRAFT:
        return can_edit(user, request)
    return user.role in (Role.ADMIN, Role.STAFF)


def can_withdraw(user: User, request: RecordsRequest, item: RequestItem) -> bool:
    return (
        request.status is not RequestStatus.DRAFT
        and can_edit(user, request)
        and not item.state.is_settled
    )


# Changes -------------------------------------------------------------------------


def _record(
    request: RecordsRequest, actor: User | None, changes: list[dict[str, str]], note: str = ""
) -> RequestEvent:
    event = RequestEvent(actor=actor, kind="items", changes=changes, note=note.strip())
    request.events.append(event)
    return event


def _renumber(items: Sequence[RequestItem]) -> None:
    for position, item in enumerate(items, start=1):
        item.position = position


def _text(value: str, field: str) -> str:
    text = tidy(value or "")
    if not text:
        raise ItemError(field, "Describe the records this item asks for.")
    if len(text) > MAX_ITEM:
        raise ItemError(field, f"An item can be at most {MAX_ITEM} characters.")
    return text


def _has_answers(item: RequestItem) -> bool:
    answered = db.session.scalar(
        select(func.count()).select_from(ItemAnswer).where(ItemAnswer.item_id == item.id)
    )
    linked = db.session.scalar(
        select(func.count()).select_from(document_items).where(document_items.c.item_id == item.id)
    )
    return bool(answered or linked)


def _require_draft(request: RecordsRequest) -> None:
    if request.status is not RequestStatus.DRAFT:
        raise ItemError(
            "description",
            "The request has been sent: its items keep the numbers the agency has.",
        )


def add_item(request: RecordsRequest, description: str, actor: User | None) -> RequestItem:
    _require_draft(request)
    text = _text(description, "description")
    items = items_of(request)
    item = RequestItem(request=request, position=len(items) + 1, description=text)
    db.session.add(item)
    _record(request, actor, [{"field": f"Item {item.position}", "old": "", "new": text}])
    db.session.flush()
    return item


def reword_item(
    request: RecordsRequest, item: RequestItem, description: str, actor: User, reason: str = ""
) -> RequestEvent | None:
    """Change an item's wording; after sending only staff may, and they say why."""
    if not can_reword(actor, request):
        raise ItemError("description", "Only staff can reword an item once the request is sent.")
    text = _text(description, "description")
    if request.status is not RequestStatus.DRAFT and not reason.strip():
        raise ItemError(
            "reason", "Say why the wording changes, e.g. how it was narrowed with the agency."
        )
    if text == item.description:
        return None
    change = {"field": f"Item {item.position}", "old": item.description, "new": text}
    item.description = text
    event = _record(request, actor, [change], reason)
    db.session.flush()
    return event


def split_item(
    request: RecordsRequest, item: RequestItem, first: str, second: str, actor: User | None
) -> tuple[RequestItem, RequestItem]:
    """Item n becomes items n and n + 1; the items after it move down one."""
    _require_draft(request)
    first_text, second_text = _text(first, "first"), _text(second, "second")
    items = items_of(request)
    old = item.description
    item.description = first_text
    new = RequestItem(request=request, position=item.position + 1, description=second_text)
    db.session.add(new)
    at = items.index(item)
    _renumber([*items[: at + 1], new, *items[at + 1 :]])
    _record(
        request,
        actor,
        [
            {"field": f"Item {item.position}", "old": old, "new": first_text},
            {"field": f"Item {new.position}", "old": "", "new": second_text},
        ],
        f"Split item {item.position} in two.",
    )
    db.session.flush()
    return item, new


def merge_with_next(
    request: RecordsRequest, item: RequestItem, description: str, actor: User | None
) -> RequestItem:
    """Item n and item n + 1 become one item n, worded as given."""
    _require_draft(request)
    items = items_of(request)
    at = items.index(item)
    if at + 1 >= len(items):
        raise ItemError("description", "The last item has no next item to merge with.")
    following = items[at + 1]
    if _has_answers(following):
        raise ItemError("description", f"Item {following.position} has answers; keep it apart.")
    text = _text(description, "description")
    changes = [
        {"field": f"Item {item.position}", "old": item.description, "new": text},
        {"field": f"Item {following.position}", "old": following.description, "new": ""},
    ]
    note = f"Merged items {item.position} and {following.position}."
    item.description = text
    db.session.delete(following)
    _renumber([other for other in items if other is not following])
    _record(request, actor, changes, note)
    db.session.flush()
    return item


def remove_item(request: RecordsRequest, item: RequestItem, actor: User | None) -> None:
    _require_draft(request)
    items = items_of(request)
    if len(items) == 1:
        raise ItemError("description", "A request asks for something: keep at least one item.")
    if _has_answers(item):
        raise ItemError("description", "This item has answers; it cannot be removed.")
    change = {"field": f"Item {item.position}", "old": item.description, "new": ""}
    note = f"Removed item {item.position}; the items after it moved up."
    db.session.delete(item)
    _renumber([other for other in items if other is not item])
    _record(request, actor, [change], note)
    db.session.flush()


def withdraw_item(
    request: RecordsRequest, item: RequestItem, reason: str, actor: User
) -> RequestEvent:
    """We no longer ask for an item: it is settled, and the reason is on the timeline."""
    if not can_withdraw(actor, request, item):
        raise ItemError("reason", "Only an open item of a sent request can be withdrawn.")
    if not reason.strip():
        raise ItemError("reason", "Say why the item is withdrawn.")
    old = item.state
    item.state = ItemState.WITHDRAWN
    change = {"field": f"Item {item.position}", "old": old.label, "new": item.state.label}
    event = _record(request, actor, [change], reason)
    db.session.flush()
    return event


def follows_its_source(request: RecordsRequest) -> bool:
    """The items still are what the letter or the records sought made them: a draft whose
    items nobody has edited by hand and nothing has answered."""
    if request.status is not RequestStatus.DRAFT:
        return False
    if any(event.kind == "items" for event in request.events):
        return False
    items = items_of(request)
    return all(item.state is ItemState.PENDING and not _has_answers(item) for item in items)


def follow_source(request: RecordsRequest, texts: Sequence[str], actor: User | None) -> bool:
    """Make the items ``texts`` again when they still follow their source; say whether
    they do. Items someone has shaped by hand are left as they are."""
    if not follows_its_source(request):
        return False
    texts = [tidy(text) for text in texts if tidy(text)] or [request.title]
    items = items_of(request)
    if [item.description for item in items] == texts:
        return True
    for item in items:
        db.session.delete(item)
    db.session.flush()
    first_items(request, texts)
    request.events.append(
        RequestEvent(
            actor=actor,
            kind="updated",
            changes=[
                {
                    "field": "Items",
                    "old": " / ".join(item.description for item in items),
                    "new": " / ".join(texts),
                }
            ],
        )
    )
    db.session.flush()
    return True
