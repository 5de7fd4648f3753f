"""Amounts of money as people type them, and as the tracker prints them."""

import re
from decimal import Decimal

# Twelve digits with two after the point: what Numeric(12, 2) holds.
LARGEST_AMOUNT = Decimal("9999999999.99")
AMOUNT = re.compile(r"\$? *([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]{1,2})?")


class AmountError(ValueError):
    pass


def parse_amount(text: str) -> Decimal | None:
    """Dollars and cents as a person types them ("120", "$1,200.50"), or None when blank."""
    text = text.strip()
    if not text:
        return None
    if text.lstrip("$ ").startswith("-"):
        raise AmountError("An amount cannot be negative.")
    if not AMOUNT.fullmatch(text):
        raise AmountError("Enter dollars and cents, such as 120 or 120.50.")
    amount = Decimal(text.lstrip("$ ").replace(",", ""))
    if amount > LARGEST_AMOUNT:
        raise AmountError("That amount is too large.")
    return amount.quantize(Decimal("0.01"))


def dollars(amount: Decimal | None) -> str:
    return "" if amount is None else f"${amount:,.2f}"
