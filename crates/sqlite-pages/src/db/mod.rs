//! The whole file: header (or inferred parameters), schema, freelist, tree
//! walks, page classification, and the salvage driver.
//!
//! [`Db::open`] never fails: what it cannot read becomes a [`Diag`].
//! [`Db::salvage`] pushes rows to a [`Sink`]: first every live row, then
//! carved rows that do not duplicate a live row's values.

mod classify;
mod conflict;
mod dedup;
mod driver;
mod open;
mod reach;
mod shadow;

pub use classify::infer_page_size;
pub use conflict::{ConflictEvidence, RowidConflict};
pub use dedup::fingerprint;
pub(crate) use open::{master_row, master_table};
pub use reach::Gap;

use crate::cell::PageSource;
use crate::header::DbHeader;
use crate::page::PageClass;
use crate::scan::{PageRole, RecoveredRow, RowRef, RowStatus};
use crate::schema::{MasterRow, Table};
use crate::{Error, PageNo};

/// A problem met while reading the file (recovery continued).
#[derive(Debug, Clone, PartialEq)]
pub struct Diag {
    /// The page concerned, if any.
    pub page_no: Option<PageNo>,
    /// What happened.
    pub kind: DiagKind,
}

/// Kinds of diagnostics.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DiagKind {
    /// A structural error.
    Error(Error),
    /// The header was unreadable; the page size was inferred.
    PageSizeInferred {
        /// The inferred size.
        page_size: u32,
    },
    /// The text encoding was inferred from the schema's text.
    EncodingInferred {
        /// The inferred encoding.
        encoding: crate::header::TextEncoding,
    },
    /// A table's b-tree could not be fully walked.
    TreeBroken {
        /// Table name.
        table: String,
    },
    /// The schema was rebuilt from pages found by scanning.
    SchemaFromScan,
    /// The overflow chain of an intact `sqlite_master` cell broke.
    OverflowBroken(crate::cell::ChainBreak),
    /// The file ends inside a page.
    TruncatedFile {
        /// File length.
        len_bytes: u64,
    },
    /// A pointer of a table's tree was not followed (the page is the one
    /// holding the pointer).
    PointerRefused {
        /// Table name.
        table: String,
        /// The range the pointer should have covered, and why not.
        gap: Gap,
    },
    /// This page is a leaf of `table` that its tree does not reach: its
    /// rows are reported live with `reachable: false`.
    Unreached {
        /// Table name.
        table: String,
        /// The break whose range holds the page's rowids.
        gap: Gap,
    },
    /// Two leaves of a table claim the same rowids; this page lost (see
    /// [`RowidConflict`]): its rows are reported with status `conflict`.
    RowidConflict(RowidConflict),
    /// The freelist lists this page, but `table`'s tree reaches it: it is
    /// kept as live.
    FreelistHoldsTreePage {
        /// Table name.
        table: String,
    },
    /// `table`'s root pointer was refused; this page, an interior page no
    /// other points at whose tree fits the table, was walked instead.
    RootFound {
        /// Table name.
        table: String,
    },
    /// The header's page size disagrees with the file's layout; the size
    /// the pages show was used.
    HeaderPageSizeWrong {
        /// What the header says.
        header: u32,
        /// What was used.
        used: u32,
    },
}

impl std::fmt::Display for Diag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = self.page_no {
            write!(f, "page {p}: ")?;
        }
        match &self.kind {
            DiagKind::Error(e) => write!(f, "{e}"),
            DiagKind::PageSizeInferred { page_size } => write!(
                f,
                "header unreadable; page size {page_size} inferred from page layout"
            ),
            DiagKind::EncodingInferred { encoding } => write!(
                f,
                "text encoding {} inferred from the schema",
                encoding.name()
            ),
            DiagKind::TreeBroken { table } => write!(
                f,
                "b-tree of table {table:?} is damaged; leaves of its shape in the rowid ranges of the broken pointers are reported as live (reachable: false)"
            ),
            DiagKind::PointerRefused { table, gap } => write!(
                f,
                "table {table:?}: pointer to page {} not followed ({}); rowids {} lost from the tree",
                gap.child,
                gap.reason,
                range_text(gap)
            ),
            DiagKind::Unreached { table, gap } => write!(
                f,
                "leaf of table {table:?} not reached from its root (the pointer to page {} {}: {}); its rows are live, reachable: false",
                gap.child,
                gap.parent.map_or_else(
                    || "in sqlite_master".to_string(),
                    |p| format!("on page {p}")
                ),
                gap.reason
            ),
            DiagKind::RowidConflict(c) => write!(f, "{c}"),
            DiagKind::FreelistHoldsTreePage { table } => write!(
                f,
                "listed on the freelist but reached by the tree of table {table:?}; kept live"
            ),
            DiagKind::RootFound { table } => write!(
                f,
                "taken as the root of table {table:?} (its sqlite_master root is not its tree); rows under it are reported live, reachable: false"
            ),
            DiagKind::HeaderPageSizeWrong { header, used } => write!(
                f,
                "header page size {header} disagrees with the file's pages; {used} used"
            ),
            DiagKind::SchemaFromScan => write!(
                f,
                "sqlite_master unreadable from page 1; schema rebuilt from scanned pages"
            ),
            DiagKind::OverflowBroken(b) => write!(f, "sqlite_master: {}", b.detail()),
            DiagKind::TruncatedFile { len_bytes } => write!(
                f,
                "file is truncated ({len_bytes} bytes is not a whole number of pages)"
            ),
        }
    }
}

fn range_text(g: &Gap) -> String {
    let lo = g.lo.map_or_else(|| "-inf".to_string(), |v| v.to_string());
    let hi = g.hi.map_or_else(|| "+inf".to_string(), |v| v.to_string());
    format!("({lo}, {hi}]")
}

/// Receives rows from [`Db::salvage`].
pub trait Sink {
    /// The sink's error.
    type Error;
    /// Takes one row; `Ok(false)` stops the run.
    fn row(&mut self, db: &Db<'_>, row: &RecoveredRow) -> Result<bool, Self::Error>;
    /// Progress: pages done out of all pages (called between chunks).
    fn progress(&mut self, _done: u32, _total: u32) {}
}

/// The per-row half of [`Db::salvage_with`], run on worker threads: adds
/// rows to a batch (e.g. formats them into bytes).
pub trait RowFormat: Sync {
    /// What one group of pages produces.
    type Batch: Default + Send;
    /// Adds `row` to `batch`.
    fn add(&self, db: &Db<'_>, row: &RowRef<'_>, batch: &mut Self::Batch);
}

/// The ordered half of [`Db::salvage_with`], on the calling thread: takes
/// batches in page order.
pub trait BatchSink<B> {
    /// The sink's error.
    type Error;
    /// Takes one batch; `marks` has one entry per row added to it, in order,
    /// and only rows whose mark says `keep` belong to the output. `Ok(false)`
    /// stops the run.
    fn batch(&mut self, db: &Db<'_>, batch: B, marks: &[RowMark]) -> Result<bool, Self::Error>;
    /// Intact cells of the batch just given whose overflow chain broke (the
    /// rows hold the bytes read before the break), in page order.
    fn chain_breaks(&mut self, _db: &Db<'_>, _breaks: &[crate::cell::ChainBreak]) {}
    /// Progress: pages done out of all pages (called between rounds);
    /// `false` stops the run there (cancellation).
    fn progress(&mut self, _done: u32, _total: u32) -> bool {
        true
    }
}

/// One row of a batch, as the ordered stage sees it.
#[derive(Debug, Clone, Copy)]
pub struct RowMark {
    /// The row's table.
    pub table: Option<usize>,
    /// The row's status.
    pub status: RowStatus,
    /// Some of the row's columns were lost ([`RowRef::lost`]).
    pub partial: bool,
    /// `false` for a carved row that repeats an earlier carved row.
    pub keep: bool,
    /// De-duplication key of a carved row: (table, fingerprint).
    key: (Option<usize>, u64),
    /// An FTS projection of the previous row: kept with it.
    projection: bool,
}

impl RowMark {
    fn kept(r: &RowRef<'_>) -> Self {
        Self {
            table: r.table,
            status: r.status,
            partial: r.lost != 0,
            keep: true,
            key: (r.table, 0),
            projection: false,
        }
    }
}

/// Options of a salvage run.
#[derive(Debug, Clone, Default)]
pub struct SalvageOptions {
    /// Skip carving.
    pub no_deleted: bool,
    /// Only these tables (names, case-insensitive); empty = all.
    pub tables: Vec<String>,
}

/// A database file opened for recovery.
pub struct Db<'a> {
    /// The whole file.
    pub bytes: &'a [u8],
    /// The header, if it parsed.
    pub header: Option<DbHeader>,
    /// Page size used.
    pub page_size: u32,
    /// Usable size used.
    pub usable: u32,
    /// Text encoding used.
    pub encoding: crate::header::TextEncoding,
    /// Pages in the file (a partial last page counts).
    pub n_pages: u32,
    /// sqlite_master rows read (live).
    pub master: Vec<MasterRow>,
    /// Tables: live ones first, then dropped ones carved from free space.
    pub tables: Vec<Table>,
    /// Per page (index = page number − 1): class.
    pub classes: Vec<PageClass>,
    /// Per page: role for row extraction.
    pub roles: Vec<PageRole>,
    /// Diagnostics.
    pub diags: Vec<Diag>,
    /// Per table: its b-tree walk met damage.
    pub broken: Vec<bool>,
    /// Called with byte ranges of `bytes` the scan has gone past (see
    /// [`Db::open_releasing`]).
    release: &'a (dyn Fn(usize, usize) + Sync),
    /// The freelist chain read cleanly and lists as many pages as the
    /// header counts: only then does a live cell's overflow chain end at a
    /// page it lists (a damaged trunk's garbage entries must not cut live
    /// rows).
    freelist_credible: bool,
    /// Per table: the FTS3/4 table whose `_content` it is, and the R*Tree
    /// whose `_node` it is (looked up once, not per row).
    shadows: Vec<(Option<usize>, Option<usize>)>,
    /// Per page (index = page number − 1), when the bytes are an image
    /// built from a `-wal`: the 1-based WAL frame its bytes come from, 0
    /// for the database file (see [`Db::open_image`]). Empty otherwise.
    write_order: &'a [u32],
}

fn keep_resident(_offset: usize, _len: usize) {}

impl PageSource for Db<'_> {
    fn page(&self, p: PageNo) -> Option<&[u8]> {
        self.page_bytes(p)
    }
    fn n_pages(&self) -> u32 {
        self.n_pages
    }
    fn is_free(&self, p: PageNo) -> bool {
        self.freelist_credible
            && p.0
                .checked_sub(1)
                .and_then(|i| self.classes.get(i as usize))
                .is_some_and(|c| matches!(c, PageClass::FreelistLeaf | PageClass::FreelistTrunk))
    }
}

impl<'a> Db<'a> {
    /// Whether [`Db::bytes`] is an image built from a `-wal`
    /// ([`Db::open_image`]) rather than the database file's own bytes.
    pub fn is_image(&self) -> bool {
        !self.write_order.is_empty()
    }

    /// The usable bytes of page `p` (shorter for a truncated last page).
    pub fn page_bytes(&self, p: PageNo) -> Option<&'a [u8]> {
        let i = u64::from(p.0.checked_sub(1)?);
        let ps = u64::from(self.page_size);
        let start = usize::try_from(i.checked_mul(ps)?).ok()?;
        let end = start
            .saturating_add(self.usable as usize)
            .min(self.bytes.len());
        self.bytes.get(start..end)
    }
}
