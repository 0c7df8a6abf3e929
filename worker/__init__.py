"""balcao: the Balcão Virtual worker. Nothing is imported here so that `balcao --help` stays fast."""

__version__ = "0.1.0"
