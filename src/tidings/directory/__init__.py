"""Directory and authentication on top of `DirectoryService`.

`passwords` (argon2id), `scram` (SCRAM-SHA-256 credentials), `sasl` and
`sasl_scram` (sans-I/O SASL mechanisms), `throttle` (auth failure limits),
`auth` (the `Authenticator`), `admin` (the operations the CLI and REST API share),
`addresses` (canonical domains and addresses).
"""
