"""pytest plugin (registered through the `pytest11` entry point): placeholder until goldens land."""
