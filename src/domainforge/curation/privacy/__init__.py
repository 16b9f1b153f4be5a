"""PII detection and scrubbing for Chinese and English text.

    from domainforge.curation.privacy import scrub_text
"""
from domainforge.curation.privacy.scrub import Scrubber, scrub_text

__all__ = ["Scrubber", "scrub_text"]
