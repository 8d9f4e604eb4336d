"""The back office's members page (``/backoffice/members``).

- **Members** (``page``): the list with the counter search (phone in any format, its last
  4 digits, card number or name) and filters (tag, last visit, total spend, sign-up date; a
  loyalty tier when loyalty is there), in pages, exported as CSV or XLSX as filtered; a
  member's profile (``profile``: figures, favourite items, order history with returns, tags
  and notes, consents); and the sign-up form with the customer's consents.
- **Analytics** (``analytics``): sign-ups per week, active members, the repeat rate, spend
  per tier (or per registration store) with charts.
- **Import** (``imports``): members from a CSV or XLSX file, every problem shown with its
  row and column.
"""

from kassa.members.ui import page  # noqa: F401 - importing registers the page
