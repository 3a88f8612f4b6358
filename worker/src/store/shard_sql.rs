//! The SQL of a state shard (`StateShard` in `store/durable.rs`, wasm32), over one table
//! `kv(key, value, expires_at, receipt, value_expires_at)`.
//!
//! A row is *live* while `expires_at` is NULL or later than now; a live row with a
//! `receipt` is *taken* (invisible to reads, kept until `expires_at` so that a second take
//! can name the first). Every statement takes `now` (Unix seconds) as a parameter where
//! liveness matters. The object runs these with `ctx.storage.sql.exec`; the tests below
//! run them against SQLite natively, with the parameters in the same order.

/// Creates the table (idempotent).
pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER, receipt TEXT, value_expires_at INTEGER)";

/// Creates the index the sweep reads (idempotent).
pub const CREATE_INDEX: &str = "CREATE INDEX IF NOT EXISTS kv_expires_at ON kv (expires_at)";

/// The live row of a key: `(key, now)` -> `value, receipt`.
pub const LIVE_ROW: &str =
    "SELECT value, receipt FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)";

/// Writes a row, whatever was there: `(key, value, expires_at)`.
pub const WRITE: &str = "INSERT OR REPLACE INTO kv (key, value, expires_at, receipt, value_expires_at) VALUES (?, ?, ?, NULL, NULL)";

/// Writes a row unless a live one holds the key (no row, or an expired one, is absent):
/// `(key, value, expires_at, now)`; returns a row when it wrote.
pub const WRITE_IF_ABSENT: &str = "INSERT INTO kv (key, value, expires_at, receipt, value_expires_at) VALUES (?, ?, ?, NULL, NULL) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, receipt = NULL, value_expires_at = NULL \
     WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= ? RETURNING 1 AS written";

/// Replaces the value of a live, untaken row that holds exactly the expected value (the
/// columns [`WRITE`] sets): `(value, expires_at, key, expected, now)`; returns a row when
/// it swapped.
pub const SWAP_IF_EQUAL: &str = "UPDATE kv SET value = ?, expires_at = ?, receipt = NULL, value_expires_at = NULL \
     WHERE key = ? AND value = ? AND receipt IS NULL AND (expires_at IS NULL OR expires_at > ?) RETURNING 1 AS written";

/// Takes a row: `(receipt, keep_until, key)`. The row keeps its value and, in
/// `value_expires_at`, its expiry (for [`UNTAKE`]); it expires at `keep_until`.
pub const TAKE: &str =
    "UPDATE kv SET receipt = ?, value_expires_at = expires_at, expires_at = ? WHERE key = ?";

/// [`TAKE`] of a live, untaken row that holds exactly the expected value: `(receipt,
/// keep_until, key, expected, now)`; returns a row when it took it.
pub const TAKE_EXPECTED: &str = "UPDATE kv SET receipt = ?, value_expires_at = expires_at, expires_at = ? \
     WHERE key = ? AND value = ? AND receipt IS NULL AND (expires_at IS NULL OR expires_at > ?) RETURNING 1 AS taken";

/// Gives a taken row back, if `receipt` took it: `(key, receipt)`.
pub const UNTAKE: &str = "UPDATE kv SET receipt = NULL, expires_at = value_expires_at, value_expires_at = NULL WHERE key = ? AND receipt = ?";

/// Deletes a row: `(key)`.
pub const DELETE: &str = "DELETE FROM kv WHERE key = ?";

/// Deletes up to `limit` expired rows: `(now, limit)`.
pub const SWEEP: &str = "DELETE FROM kv WHERE key IN (SELECT key FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)";

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OptionalExtension, params};

    const NOW: i64 = 1_000_000;

    /// `(value, expires_at, receipt, value_expires_at)` of a row.
    type Row = (String, Option<i64>, Option<String>, Option<i64>);

    fn shard() -> Connection {
        let db = Connection::open_in_memory().unwrap();
        db.execute(CREATE_TABLE, []).unwrap();
        db.execute(CREATE_INDEX, []).unwrap();
        db
    }

    fn put(db: &Connection, key: &str, value: &str, expires_at: Option<i64>) {
        db.execute(WRITE, params![key, value, expires_at]).unwrap();
    }

    fn row(db: &Connection, key: &str) -> Option<Row> {
        db.query_row(
            "SELECT value, expires_at, receipt, value_expires_at FROM kv WHERE key = ?",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .unwrap()
    }

    /// Runs a statement with `RETURNING`: whether it returned a row.
    fn returns_row(db: &Connection, sql: &str, p: impl rusqlite::Params) -> bool {
        let mut stmt = db.prepare(sql).unwrap();
        let mut rows = stmt.query(p).unwrap();
        rows.next().unwrap().is_some()
    }

    fn take(db: &Connection, key: &str, receipt: &str, keep_until: i64) {
        db.execute(TAKE, params![receipt, keep_until, key]).unwrap();
    }

    fn live(db: &Connection, key: &str, now: i64) -> Option<(String, Option<String>)> {
        db.query_row(LIVE_ROW, params![key, now], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .unwrap()
    }

    #[test]
    fn write_if_absent_writes_only_where_no_live_row_holds_the_key() {
        let db = shard();
        put(&db, "live", "old", Some(NOW + 10));
        put(&db, "forever", "old", None);
        put(&db, "expired", "old", Some(NOW));
        put(&db, "taken", "old", Some(NOW + 10));
        take(&db, "taken", "r1", NOW + 5);
        let write = |key: &str| {
            returns_row(
                &db,
                WRITE_IF_ABSENT,
                params![key, "new", Some(NOW + 60), NOW],
            )
        };
        assert!(write("absent"));
        assert_eq!(
            row(&db, "absent"),
            Some(("new".into(), Some(NOW + 60), None, None))
        );
        // A row that expires exactly now is no longer live: replaced, receipt cleared.
        assert!(write("expired"));
        assert_eq!(
            row(&db, "expired"),
            Some(("new".into(), Some(NOW + 60), None, None))
        );
        for key in ["live", "forever", "taken"] {
            let before = row(&db, key);
            assert!(!write(key), "{key} holds a live row");
            assert_eq!(row(&db, key), before, "{key} is unchanged");
        }
    }

    #[test]
    fn swap_if_equal_swaps_only_a_live_untaken_row_holding_the_expected_value() {
        let db = shard();
        put(&db, "k", "v1", Some(NOW + 10));
        let swap = |key: &str, expected: &str, value: &str| {
            returns_row(
                &db,
                SWAP_IF_EQUAL,
                params![value, Some(NOW + 99), key, expected, NOW],
            )
        };
        assert!(!swap("k", "other", "v2"));
        assert_eq!(row(&db, "k").unwrap().0, "v1");
        assert!(swap("k", "v1", "v2"));
        assert_eq!(
            row(&db, "k"),
            Some(("v2".into(), Some(NOW + 99), None, None))
        );
        // The old value no longer matches: a second rotation of the same token fails.
        assert!(!swap("k", "v1", "v3"));
        assert!(!swap("absent", "v1", "v2"));
        assert!(row(&db, "absent").is_none());
        put(&db, "expired", "v1", Some(NOW));
        assert!(!swap("expired", "v1", "v2"));
        put(&db, "taken", "v1", Some(NOW + 10));
        take(&db, "taken", "r1", NOW + 5);
        assert!(!swap("taken", "v1", "v2"));
        assert_eq!(row(&db, "taken").unwrap().0, "v1");
    }

    #[test]
    fn take_expected_takes_once_and_keeps_the_expiry_for_untake() {
        let db = shard();
        put(&db, "code", "copy", Some(NOW + 600));
        let take_expected = |expected: &str, receipt: &str| {
            returns_row(
                &db,
                TAKE_EXPECTED,
                params![receipt, NOW + 30, "code", expected, NOW],
            )
        };
        assert!(!take_expected("stale copy", "r0"));
        assert_eq!(row(&db, "code").unwrap().2, None);
        assert!(take_expected("copy", "r1"));
        assert_eq!(
            row(&db, "code"),
            Some((
                "copy".into(),
                Some(NOW + 30),
                Some("r1".into()),
                Some(NOW + 600)
            ))
        );
        // Taken: a second take finds nothing to take, and reads see the receipt.
        assert!(!take_expected("copy", "r2"));
        assert_eq!(
            live(&db, "code", NOW),
            Some(("copy".into(), Some("r1".into())))
        );
        // Only the receipt that took it gives it back, with its expiry.
        db.execute(UNTAKE, params!["code", "r2"]).unwrap();
        assert_eq!(row(&db, "code").unwrap().2, Some("r1".into()));
        db.execute(UNTAKE, params!["code", "r1"]).unwrap();
        assert_eq!(
            row(&db, "code"),
            Some(("copy".into(), Some(NOW + 600), None, None))
        );
        // An expired row cannot be taken.
        put(&db, "old", "copy", Some(NOW - 1));
        assert!(!returns_row(
            &db,
            TAKE_EXPECTED,
            params!["r3", NOW + 30, "old", "copy", NOW]
        ));
    }

    #[test]
    fn live_row_ignores_expired_rows() {
        let db = shard();
        put(&db, "a", "v", Some(NOW + 1));
        put(&db, "b", "v", Some(NOW));
        put(&db, "c", "v", None);
        assert!(live(&db, "a", NOW).is_some());
        assert!(live(&db, "b", NOW).is_none());
        assert!(live(&db, "c", NOW).is_some());
        db.execute(DELETE, ["c"]).unwrap();
        assert!(row(&db, "c").is_none());
    }

    #[test]
    fn sweep_deletes_at_most_the_limit_and_only_expired_rows() {
        let db = shard();
        for i in 0..10 {
            put(&db, &format!("expired-{i}"), "v", Some(NOW - i));
        }
        put(&db, "live", "v", Some(NOW + 1));
        put(&db, "forever", "v", None);
        let count = |db: &Connection| -> i64 {
            db.query_row("SELECT COUNT(*) FROM kv", [], |r| r.get(0))
                .unwrap()
        };
        db.execute(SWEEP, params![NOW, 4]).unwrap();
        assert_eq!(count(&db), 8);
        db.execute(SWEEP, params![NOW, 100]).unwrap();
        assert_eq!(count(&db), 2);
        assert!(row(&db, "live").is_some());
        assert!(row(&db, "forever").is_some());
    }
}
