"""The pyparity command line (typer): thin commands that parse arguments and call the library."""
