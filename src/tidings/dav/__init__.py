"""WebDAV, CalDAV and CardDAV (RFC 4918, 4791, 6352, 6578, 6764) on the web app."""
