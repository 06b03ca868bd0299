"""Console authentication: login with password and TOTP, sessions, CSRF tokens."""
