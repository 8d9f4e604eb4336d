"""The register screens: selling at ``/register`` (``register``), the floor plan at
``/register/floor`` and the order queue at ``/register/queue`` (``floor``). Importing
those modules registers their pages; ``web.ui.mount_ui`` does."""
