"""SMTP server: sans-I/O core (parser, session, responses), command layer and driver."""
