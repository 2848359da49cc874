"""Review rules, one module per family; each registers itself with ``@rule`` on import."""
