"""Email to shoppers: rendered from templates when queued (``messages``), delivered by the
worker (``jobs``) over SMTP (``sender``), so a mail server outage delays a message and never
loses it."""
