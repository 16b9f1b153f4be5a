#!/bin/sh
# Nightly backup of the records database; keeps 14 days.
set -eu
BACKUP_DIR=/var/backups/records
STAMP=$(date +%Y%m%d)
mkdir -p "$BACKUP_DIR"
pg_dump --format=custom records > "$BACKUP_DIR/records-$STAMP.dump"
find "$BACKUP_DIR" -name 'records-*.dump' -mtime +14 -delete
if [ -n "${NOTIFY:-}" ]; then
    echo "backup $STAMP done" | mail -s "records backup" "$NOTIFY"
fi
for f in "$BACKUP_DIR"/*.dump; do
    sha256sum "$f" >> "$BACKUP_DIR/SHA256SUMS"
done
