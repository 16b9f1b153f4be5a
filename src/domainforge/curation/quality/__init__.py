"""Is a document worth training on: language ID, content-type rules, zh/en prose rules, fastText."""
