"""The admin service layer: role checks and audit records around directory,
queue and token operations; the REST API, the CLI and the console all call it."""
