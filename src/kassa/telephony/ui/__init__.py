"""The phone assistant on screen: the incoming-call popup and the calls button on the
register, and the back office's call log and paired phones. Importing this package
registers the pages and the register's header button."""

from kassa.telephony.ui import backoffice, register  # noqa: F401 - importing registers them
