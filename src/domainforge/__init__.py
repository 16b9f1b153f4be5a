"""DomainForge: raw domain text in, a domain language model out, as one Kedro pipeline."""

__version__ = "0.1.0"
