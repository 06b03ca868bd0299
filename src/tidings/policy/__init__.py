"""Policy objects evaluated by one pipeline (DLP, transport rules, retention) and the audit log."""
