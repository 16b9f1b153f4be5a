"""Curation: raw files in, training-ready, fully accounted-for record tables out.

    ingest/    raw bytes -> record tables (encoding detection, file layouts, quarantine, raw files as tasks)
    quality/   language ID, content-type and prose rules, the fastText classifier
    dedup/     exact and MinHash near-duplicate removal (in memory, over sharded tables, on Ray Data)
    privacy/   PII detection and scrubbing
    normalise, chat_format, decontaminate, mix, split   the small single-file stages
    stage, registry                           the Stage interface and every stage, in order
    shards, plan, engine                      sharded tables, plans over them, where tasks run
    records, hash_order, ledger, report       record tables, hash-order choices, the ledger, the data report
"""
