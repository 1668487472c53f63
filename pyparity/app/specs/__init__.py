"""The built-in pipelines' specs (`pyparity.app.spec` finds them by name; importing one imports no
pipeline code until it runs)."""
