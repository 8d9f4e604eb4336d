"""Returns on screen: the request dialog and the approval queue on the register, and the
back office's archive and settings. Importing this package registers the pages and the
register's "Return" buttons and header badge."""

from kassa.returns.ui import backoffice, queue, request  # noqa: F401 - importing registers them
