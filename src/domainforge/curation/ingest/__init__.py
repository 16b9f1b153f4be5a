"""Raw files -> document, chat and preference tables; unreadable records are quarantined."""
