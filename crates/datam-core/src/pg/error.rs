//! The one error type of the PostgreSQL jobs.

use std::path::PathBuf;

use crate::job::Cancelled;

/// Why a PostgreSQL job stopped. Damage that still lets the job go on is a
/// [`crate::job::Diagnostic`] instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or mapped.
    #[error(transparent)]
    Evidence(#[from] evidence::Error),
    /// Reading the data directory failed.
    #[error(transparent)]
    Data(#[from] pgdata::Error),
    /// Planning a rescue failed.
    #[error(transparent)]
    Rescue(#[from] pgrescue::Error),
    /// A directory could not be listed.
    #[error("cannot list {}", path.display())]
    List {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The output stream could not be written.
    #[error("cannot write the output")]
    Output(#[from] std::io::Error),
    /// No input file is a WAL segment with a valid long page header.
    #[error("no WAL segment with a valid long page header among the inputs")]
    NoWalStream,
    /// A segment given on its own has no valid long page header (or first
    /// page).
    #[error("{label}: not a readable WAL segment (at byte {offset}): {source}")]
    BadSegment {
        /// How the caller named the segment.
        label: String,
        /// Byte offset of the bad header in the segment.
        offset: u64,
        /// Why.
        source: walparse::Error,
    },
    /// No segment of the wanted timeline.
    #[error("no WAL segment of timeline {timeline} or earlier among the inputs")]
    NoSegmentOfTimeline {
        /// The timeline.
        timeline: u32,
    },
    /// An `--rmgr` name pg_waldump does not print.
    #[error("unknown rmgr {0:?} (names as pg_waldump prints them)")]
    UnknownRmgr(String),
    /// A relation filter that is not `SCHEMA.TABLE`.
    #[error("--relation wants SCHEMA.TABLE, got {0:?}")]
    BadRelationName(String),
    /// A relation filter needs a data directory.
    #[error("--relation needs a data directory (PGDATA) as the first input")]
    RelationNeedsDataDir,
    /// A table is in several databases.
    #[error("table {table} exists in several databases ({}); choose one with --database", databases.join(", "))]
    AmbiguousTable {
        /// `SCHEMA.TABLE`.
        table: String,
        /// The databases holding it.
        databases: Vec<String>,
    },
    /// No such table in the data directory named.
    #[error("no table {table} in the catalog of {}", pgdata.display())]
    NoTableIn {
        /// `SCHEMA.TABLE`.
        table: String,
        /// The data directory.
        pgdata: PathBuf,
    },
    /// No such table in any database.
    #[error("table {table} not found in any database")]
    TableNotFound {
        /// `SCHEMA.TABLE`.
        table: String,
    },
    /// A child of a dumped parent lacks one of the parent's columns, or
    /// (`--dead`) has columns other than the parent's.
    #[error(
        "{child} (a partition or child of {parent}) lacks a column of its parent, or (with --dead) has other columns or another order: dump it by its own name"
    )]
    ChildColumns {
        /// The parent named.
        parent: String,
        /// The child.
        child: String,
    },
    /// `--as-of` a moment before a rewrite that did not carry the rows
    /// over unchanged.
    #[error(
        "the table was rewritten after that moment by transaction {xid} ({kind}), which does not carry its rows over unchanged: the rows it had before are not in the current file, so the table as of that moment is not rebuilt"
    )]
    AsOfAcrossRewrite {
        /// The rewriting transaction.
        xid: u32,
        /// What it was, as far as the WAL tells.
        kind: &'static str,
    },
    /// No such table in the database chosen.
    #[error("table {table} not found in database {database}")]
    TableNotInDatabase {
        /// `SCHEMA.TABLE`.
        table: String,
        /// The database.
        database: String,
    },
    /// No such database.
    #[error("database {0:?} not found")]
    DatabaseNotFound(String),
    /// Reading the catalog of a database failed.
    #[error("reading the catalog of database {database}")]
    CatalogOf {
        /// The database.
        database: String,
        /// Why.
        source: pgdata::Error,
    },
    /// No database holds all the tables of a rescue.
    #[error("no database{} holds every table of {}", database.as_ref().map(|d| format!(" named {d}")).unwrap_or_default(), tables.join(", "))]
    NoDatabaseHolds {
        /// The database asked for.
        database: Option<String>,
        /// The tables.
        tables: Vec<String>,
    },
    /// Damaged blocks or tuples were skipped by a dump.
    #[error(
        "{n} damaged block(s) or tuple(s) in {table} were skipped (first: {first}); every other row was printed"
    )]
    DamagedRows {
        /// How many warnings.
        n: usize,
        /// `SCHEMA.TABLE`.
        table: String,
        /// The first warning's message.
        first: String,
    },
    /// A column named by `--key` that the table does not have.
    #[error("table {table} has no column {column:?}")]
    UnknownColumn {
        /// `SCHEMA.TABLE`.
        table: String,
        /// The column asked for.
        column: String,
    },
    /// A rescue names no transaction.
    #[error("name the mistaken transaction: --xid, --lsn-from/--lsn-to or --since/--until")]
    NoTarget,
    /// The rescued transaction aborted.
    #[error("transaction {0} aborted: it changed nothing")]
    Aborted(u32),
    /// The rescued transaction was prepared and then rolled back.
    #[error(
        "prepared transaction {0} was rolled back (ROLLBACK PREPARED): it never committed, so there is nothing to undo"
    )]
    RolledBackPrepared(u32),
    /// No commit record for the transaction.
    #[error("no commit record of transaction {xid} in the WAL of {} (see `datam pg xacts`)", pgdata.display())]
    NoCommit {
        /// The transaction.
        xid: u32,
        /// The data directory.
        pgdata: PathBuf,
    },
    /// No committed transaction in the range.
    #[error("no committed transaction matches (see `datam pg xacts`)")]
    NoMatch,
    /// A rescue would write inside the evidence.
    #[error("refusing to write {} inside the evidence directory {}", out.display(), root.display())]
    InsideEvidence {
        /// The output path.
        out: PathBuf,
        /// The data directory.
        root: PathBuf,
    },
    /// A connection string that tokio-postgres does not accept.
    #[error("bad connection string {conninfo:?}")]
    BadConnInfo {
        /// The string given.
        conninfo: String,
        /// Why.
        source: tokio_postgres::Error,
    },
    /// The async runtime of `--apply` could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// The server could not be reached.
    #[error("cannot connect")]
    Connect(#[source] tokio_postgres::Error),
    /// A statement of the undo failed (nothing was committed).
    #[error("{what}")]
    Statement {
        /// The statement (or what it was for).
        what: String,
        /// The server's error.
        source: tokio_postgres::Error,
    },
    /// The server's error, outside any one statement.
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    /// The target table's columns differ from the plan's.
    #[error(
        "table {table} on the target server has columns {found:?}, the plan has {want:?}; nothing was changed"
    )]
    ColumnsDiffer {
        /// The table.
        table: String,
        /// (name, type) on the server.
        found: Vec<(String, String)>,
        /// (name, type) in the plan.
        want: Vec<(String, String)>,
    },
    /// A worker thread could not be started.
    #[error("cannot start a worker thread")]
    Thread(#[source] std::io::Error),
    /// The job's cancel token was set.
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

impl From<std::convert::Infallible> for Error {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
