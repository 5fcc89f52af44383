//! The crate's one error type.

use std::path::PathBuf;

use crate::plan::Conflict;

/// Where in a change file a problem is: `updates[2].set.price`,
/// `inserts[0]`, or `line 3 column 7` for malformed JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place(pub String);

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is wrong with one entry of a change file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeError {
    /// The file is not the expected JSON.
    #[error("malformed change file: {message}")]
    Malformed {
        /// serde_json's message (it names line and column).
        message: String,
    },
    /// A column name the table does not have.
    #[error("no column {column:?} in table {table}")]
    NoColumn {
        /// The table.
        table: String,
        /// The name given.
        column: String,
    },
    /// A value the column's type does not accept.
    #[error("value {value} does not fit column {column:?} of type {type_name}: {reason}")]
    DoesNotFit {
        /// The column.
        column: String,
        /// The column's type as the database names it.
        type_name: String,
        /// The value as given.
        value: String,
        /// The database's own message.
        reason: String,
    },
    /// NULL for a NOT NULL column.
    #[error("column {column:?} is NOT NULL")]
    NotNull {
        /// The column.
        column: String,
    },
    /// An update or delete names its row without every key column.
    #[error("the key must give exactly the key columns {expected:?}; found {found:?}")]
    WrongKey {
        /// The table's key columns.
        expected: Vec<String>,
        /// The columns given.
        found: Vec<String>,
    },
    /// No row has the given key.
    #[error("no row with this key")]
    RowNotFound,
    /// The values given as key match several rows (`--all-columns-key`).
    #[error("the values match {n_rows} rows, so no single row can be addressed")]
    Ambiguous {
        /// How many rows match.
        n_rows: u64,
    },
    /// An update that sets nothing, or sets a generated column.
    #[error("{what}")]
    Unsupported {
        /// What is not supported.
        what: &'static str,
    },
}

/// Errors of the live adapter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection target could not be understood.
    #[error("bad connection target {target:?}: {reason}")]
    BadTarget {
        /// The target as given (a password in it is masked).
        target: String,
        /// Why.
        reason: String,
    },
    /// The TLS root certificate file (`sslrootcert`) could not be used.
    #[error("cannot use the TLS root certificate file {path}: {reason}")]
    TlsRootCert {
        /// The file.
        path: std::path::PathBuf,
        /// Why (unreadable, no PEM certificate in it, …).
        reason: String,
    },
    /// The TLS handshake or the server's certificate check failed, or the
    /// server does not offer TLS although `sslmode` requires it.
    #[error("TLS connection (sslmode={mode}) to {target} failed: {source}")]
    Tls {
        /// The server (no password).
        target: String,
        /// The sslmode in force.
        mode: &'static str,
        /// The driver's error (its cause names the certificate problem).
        #[source]
        source: tokio_postgres::Error,
    },
    /// The OS keychain refused an operation (or none works here).
    #[error("OS keychain, entry {account:?}: {reason}")]
    Keychain {
        /// The entry's account (`user@host:port/dbname`).
        account: String,
        /// Why.
        reason: String,
    },
    /// Connecting failed.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// The target (without password).
        target: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A PostgreSQL statement failed.
    #[error("{context}: {}", pg_message(source))]
    Pg {
        /// What was being done.
        context: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A SQLite call failed.
    #[error("{context}: {source}")]
    Sqlite {
        /// What was being done.
        context: String,
        /// rusqlite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The table does not exist.
    #[error("no table {table:?}")]
    NoTable {
        /// The name given.
        table: String,
    },
    /// A column named in a query does not exist.
    #[error("no column {column:?} in table {table}")]
    NoColumn {
        /// The table.
        table: String,
        /// The name given.
        column: String,
    },
    /// A bad entry in a change file; nothing was written.
    #[error("{place}: {kind}")]
    Change {
        /// Where in the change file.
        place: Place,
        /// What is wrong.
        kind: ChangeError,
    },
    /// The table has no primary or unique key and `--all-columns-key` was
    /// not given.
    #[error(
        "table {table} has no primary key or NOT NULL unique key; rows cannot be \
         addressed safely (use --all-columns-key to address them by all their values)"
    )]
    NoKey {
        /// The table.
        table: String,
    },
    /// The session was opened read-only.
    #[error("the session is read-only (--read-only): refusing to write")]
    ReadOnly,
    /// Planned rows changed since they were read; everything was rolled
    /// back.
    #[error("{} planned row(s) changed or vanished since they were read; the transaction was rolled back and nothing was written", conflicts.len())]
    Conflict {
        /// The rows, with their current values.
        conflicts: Vec<Conflict>,
    },
    /// A lock was not granted within `lock_timeout`; rolled back.
    #[error(
        "a row or table lock was not granted within lock_timeout; rolled back, nothing written: {}",
        pg_message(source)
    )]
    LockTimeout {
        /// The driver's error (SQLSTATE 55P03).
        #[source]
        source: tokio_postgres::Error,
    },
    /// SQLite stayed busy (locked by another connection) past the lock
    /// timeout; rolled back.
    #[error(
        "the database stayed locked by another connection past lock_timeout; rolled back, nothing written"
    )]
    SqliteBusy,
    /// A statement ran past `statement_timeout`; rolled back.
    #[error(
        "a statement ran past statement_timeout; rolled back, nothing written: {}",
        pg_message(source)
    )]
    StatementTimeout {
        /// The driver's error (SQLSTATE 57014).
        #[source]
        source: tokio_postgres::Error,
    },
    /// The journal could not be read or written.
    #[error("journal {}: {source}", path.display())]
    Journal {
        /// The journal file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A journal file is not what this version writes.
    #[error("journal {}: {message}", path.display())]
    JournalFormat {
        /// The journal file.
        path: PathBuf,
        /// serde_json's message.
        message: String,
    },
    /// No such plan in the journal (or it never committed).
    #[error("no committed plan {id} in the journal {}", dir.display())]
    NoPlan {
        /// The plan ID.
        id: String,
        /// The journal directory.
        dir: PathBuf,
    },
    /// The plan belongs to another database or table.
    #[error("plan {id} was made for {planned}, not {given}")]
    PlanTarget {
        /// The plan ID.
        id: String,
        /// Its target and table.
        planned: String,
        /// The one given.
        given: String,
    },
    /// A value read from the server could not be printed.
    #[error("column {column:?}: {source}")]
    Decode {
        /// The column.
        column: String,
        /// rowcodec's error.
        #[source]
        source: rowcodec::pg::Error,
    },
    /// Writing an export file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The COPY stream from the server was not binary COPY.
    #[error("unexpected binary COPY stream from the server at byte {offset}: {what}")]
    CopyStream {
        /// Offset in that stream.
        offset: u64,
        /// What was wrong.
        what: &'static str,
    },
    /// An operation only PostgreSQL offers.
    #[error("{what} needs a PostgreSQL server")]
    PostgresOnly {
        /// The operation.
        what: &'static str,
    },
    /// The job was cancelled.
    #[error("cancelled")]
    Cancelled(#[from] datam_core::job::Cancelled),
}

/// The server's message (with detail) rather than tokio-postgres's short
/// "db error".
pub(crate) fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(": ");
                s.push_str(d);
            }
            s
        }
        None => e.to_string(),
    }
}

/// Shorthand for the crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
