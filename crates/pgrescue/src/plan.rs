//! The undo plan of one table: every row the mistaken transaction(s)
//! deleted, updated or inserted, with its old and new images, where each
//! image came from, and whether it can be restored.
//!
//! The changes of the table and its TOAST relation are replayed in LSN order
//! over the blocks the mistake touched (`replay`). The old image of a deleted/updated row is, in order of
//! preference: the dead tuple still on the heap page (its `xmax` is the
//! mistaken transaction, judged committed by the WAL's commit record and
//! pg_xact), the page image carried by the DELETE/UPDATE record itself, the
//! slot as replayed from an earlier image, the record that created that
//! version. TOAST chunks the mistake deleted are recovered the same way.
//! Later committed work on the same rows or keys is found by `later`.

use std::collections::{HashMap, HashSet};

use pgdata::BlockNo;
use pgdata::catalog::{Catalog, ClassRow};
use pgdata::multixact::MultiXacts;
use pgdata::relation::RelationFile;
use pgdata::table::{ScanMode, TableScan, Value};
use pgdata::tuple::HeapTuple;
use pgdata::varlena::ToastPointer;
use pgdata::xact::{Clog, XidStatus};
use rowcodec::pg::{Printer, TypeCatalog};
use walparse::Lsn;

use crate::Error;
use crate::collect::{Change, RelKey};
use crate::files::TableRels;
use crate::later::Later;
use crate::oldcols::OldColumns;
use crate::replay::{Captured, PendingRow, Replay};
use crate::xacts::{XactLog, XactSummary};

/// Where a row image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The tuple on the heap page of the data directory (dead for an old
    /// image, written by the mistake for a new one).
    HeapPage {
        /// Block.
        block: u32,
        /// Line pointer.
        lp: u16,
    },
    /// The full-page image carried by the mistaken DELETE/UPDATE record.
    RecordImage {
        /// The record.
        lsn: Lsn,
    },
    /// The page rebuilt from its last image before the change (and the
    /// records replayed after it).
    PageReplay {
        /// The record carrying the image.
        image_lsn: Lsn,
    },
    /// The INSERT/UPDATE record that created that tuple version.
    CreatingRecord {
        /// The record.
        lsn: Lsn,
    },
}

impl Source {
    /// A short name for reports: `heap`, `record-fpi`, `page-replay`, `creating-record`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::HeapPage { .. } => "heap",
            Source::RecordImage { .. } => "record-fpi",
            Source::PageReplay { .. } => "page-replay",
            Source::CreatingRecord { .. } => "creating-record",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::HeapPage { block, lp } => write!(f, "heap page {block} lp {lp}"),
            Source::RecordImage { lsn } => write!(f, "full-page image in the record at {lsn}"),
            Source::PageReplay { image_lsn } => {
                write!(f, "page image at {image_lsn} + replay")
            }
            Source::CreatingRecord { lsn } => write!(f, "record at {lsn} that wrote the tuple"),
        }
    }
}

/// What undoing a row means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// The mistake deleted it: insert the old image again.
    Reinsert,
    /// The mistake updated it: put the old values back.
    Revert,
    /// The mistake inserted it: delete it.
    Delete,
}

/// Whether a row can be undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowStatus {
    /// Both images needed are complete.
    Restorable,
    /// A later committed transaction touched the same row or key; its work wins.
    SkippedLaterWork {
        /// That transaction.
        xid: u32,
        /// Its record.
        lsn: Lsn,
        /// What it did.
        what: &'static str,
    },
    /// An image needed is missing or has a value that cannot be rebuilt.
    Incomplete {
        /// Why.
        reason: String,
    },
}

/// Column values as the server prints them (`None` = NULL).
pub type Image = Vec<Option<String>>;

/// One row of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    /// What to do.
    pub kind: RowKind,
    /// The mistaken transaction (top-level xid).
    pub xid: u32,
    /// Its first record on this row.
    pub lsn: Lsn,
    /// The key (values of the key columns) addressing the row: from the
    /// old image for a re-insert, else from the new image.
    pub key: Image,
    /// The row before the mistake (re-insert, revert).
    pub old: Option<Image>,
    /// The row as the mistake left it (revert, delete).
    pub new: Option<Image>,
    /// The datums of `old` (TOAST values from the heap or WAL chunks
    /// inlined), for callers that type values themselves (Arrow);
    /// [`plan_versions`] fills it when asked, [`plan_table`] leaves it `None`.
    pub old_values: Option<Vec<Value<'static>>>,
    /// Where `old` came from.
    pub old_source: Option<Source>,
    /// Where `new` came from.
    pub new_source: Option<Source>,
    /// Restorable, skipped or incomplete.
    pub status: RowStatus,
}

/// A column of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// `attname`.
    pub name: String,
    /// `atttypid`.
    pub type_oid: u32,
    /// `pg_type.typname`.
    pub type_name: String,
    /// The type's schema when it is not `pg_catalog`: the undo SQL names
    /// the type with it, whatever the session's `search_path`.
    pub type_schema: Option<String>,
    /// A stored generated column (never inserted or set).
    pub generated: bool,
    /// Some images of this column come from an earlier file written before
    /// `ALTER TABLE … TYPE` changed it, printed by the type it had then: the
    /// undo SQL's guards compare it after the server converts the value
    /// (`format('%s', 'old'::type)`), as its writes do.
    pub retyped: bool,
}

/// How rows are addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// The primary key (index OID).
    PrimaryKey(u32),
    /// A unique index (OID).
    UniqueIndex(u32),
    /// No usable unique key: every column.
    AllColumns,
}

/// The plan of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePlan {
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Non-dropped columns in attnum order.
    pub columns: Vec<Column>,
    /// Indexes into `columns` of the key.
    pub key_cols: Vec<usize>,
    /// Where the key comes from.
    pub key_kind: KeyKind,
    /// The rows, in the order the mistake first touched them.
    pub rows: Vec<PlanRow>,
    /// Later tuples whose key could not be read (so a re-insert of a key
    /// followed by its delete could go unnoticed); the undo SQL's guards
    /// still protect live rows.
    pub later_tuples_unread: u64,
    /// Problems met (damaged pages, images that would not restore).
    pub warnings: Vec<String>,
    /// Without a key ([`KeyKind::AllColumns`]): how many live rows of the
    /// data directory's heap equal each image the undo touches, so the undo
    /// SQL puts back (or removes) each copy of identical rows, and a second
    /// run changes nothing. Empty for a keyed table.
    pub live_copies: HashMap<Image, u64>,
}

/// The warning when the target's rows are in an earlier file of the table.
/// The warning for target rows found in an earlier file of the table:
/// decoded with the columns that file had when `ALTER TABLE … TYPE` changed
/// them (`typed`), else with the current ones.
pub(crate) fn old_file_warning(typed: bool) -> &'static str {
    if typed {
        OLD_COLUMNS_WARNING
    } else {
        OLD_FILE_WARNING
    }
}

const OLD_COLUMNS_WARNING: &str = "the mistake's rows are in an earlier file of the table, written before ALTER TABLE ... TYPE changed a column: they are decoded with the columns the file had (pg_attribute's dead versions) and the undo SQL casts each old value to the current type";

const OLD_FILE_WARNING: &str = "the mistake's rows are in an earlier file of the table (rewritten after it by TRUNCATE, VACUUM FULL, CLUSTER or ALTER TABLE); they are decoded with the current columns, which is wrong only if ALTER TABLE ... TYPE changed a column's type";

/// The relations (`main`, TOAST) the current catalog names for `class`.
pub fn table_rels(cat: &Catalog, class: &ClassRow) -> Result<Vec<RelKey>, Error> {
    Ok(TableRels::current(cat, class)?.all())
}

/// The opened inputs [`plan_table`] reads, from `pgdata`'s I/O layer. The
/// caller opens them (datam-core's rescue job); planning reads pages and
/// transaction status through these handles and opens no file itself.
pub struct TableSources<'c> {
    /// The files WAL names for the table: the current ones (those `heap`
    /// and `toast` read) and, after a rewrite, the earlier ones
    /// ([`crate::files`]).
    pub rels: TableRels,
    /// The table's main fork.
    pub heap: RelationFile,
    /// Its TOAST relation's main fork, when it has one.
    pub toast: Option<RelationFile>,
    /// The table's row decoder (`TableScan::new`).
    pub scan: TableScan<'c>,
    /// `pg_xact`.
    pub clog: Clog,
    /// `pg_multixact`.
    pub multis: MultiXacts,
    /// The columns of each earlier file in `rels` whose layout differs from
    /// the current one (`ALTER TABLE … TYPE` after the file was written);
    /// images from these files are decoded with them.
    pub old_columns: HashMap<RelKey, OldColumns>,
}

/// Plans the undo of `targets` (committed top-level transactions) in table
/// `class`, from `changes` (pass 2, LSN order) and the table's files in
/// `src`.
pub fn plan_table<'c>(
    cat: &'c Catalog,
    class: &ClassRow,
    src: TableSources<'c>,
    log: &XactLog,
    targets: &[XactSummary],
    changes: &[Change],
) -> Result<TablePlan, Error> {
    plan_inner(cat, class, src, (log, targets, changes), (false, false))
}

/// Like [`plan_table`], but each target transaction's rows stay its own:
/// a row that several targets changed in turn gives one [`PlanRow`] per
/// transaction, whose `old` is the version that transaction deleted or
/// replaced and whose `new` the version it wrote. This is every row
/// version the WAL shows (`pg dump --dead`, time travel); the rows are not
/// an undo plan of the targets together. `keep_values`: fill
/// [`PlanRow::old_values`] too (memory for every old image's datums).
pub fn plan_versions<'c>(
    cat: &'c Catalog,
    class: &ClassRow,
    src: TableSources<'c>,
    (log, targets, changes): (&XactLog, &[XactSummary], &[Change]),
    keep_values: bool,
) -> Result<TablePlan, Error> {
    plan_inner(
        cat,
        class,
        src,
        (log, targets, changes),
        (true, keep_values),
    )
}

fn plan_inner<'c>(
    cat: &'c Catalog,
    class: &ClassRow,
    src: TableSources<'c>,
    (log, targets, changes): (&XactLog, &[XactSummary], &[Change]),
    (per_xact, keep_values): (bool, bool),
) -> Result<TablePlan, Error> {
    let TableSources {
        rels,
        heap,
        toast,
        scan,
        mut clog,
        multis,
        old_columns,
    } = src;
    let mut replay = Replay::new(rels.clone(), heap, toast, multis, log);
    replay.rows.per_xact = per_xact;
    let Setup {
        columns,
        key_cols,
        key_kind,
        mut warnings,
        commit_of,
    } = setup(cat, class, &scan, &mut clog, targets, &old_columns)?;

    for c in changes
        .iter()
        .filter(|c| rels.is_main(c.rel) || rels.is_toast(c.rel))
    {
        let top = log.top_of(c.xid);
        replay.record(c, top, commit_of.contains_key(&top));
        for (b, e) in &c.bad_images {
            warnings.push(format!("image of block {b} in record {}: {e}", c.lsn));
        }
    }
    let in_old_file = changes
        .iter()
        .any(|c| rels.old_main.contains(&c.rel) && commit_of.contains_key(&log.top_of(c.xid)));
    if in_old_file {
        warnings.push(old_file_warning(!old_columns.is_empty()).to_string());
    }
    let mut dec = Decoder::new(cat, scan, &replay.chunks);
    dec.keep_values = keep_values;
    dec.add_old_files(&old_columns)?;
    let mut plan_rows: Vec<PlanRow> = replay
        .rows
        .list
        .iter()
        .filter(|r| !r.cancelled)
        .map(|r| finish_row(r, &mut dec, &key_cols))
        .collect();
    let later = Later {
        changes,
        rels: &rels,
        log,
        commit_of: &commit_of,
        slots: &replay.slots,
        rows: &replay.rows,
        key_cols: &key_cols,
        key_is_indexed: key_kind != KeyKind::AllColumns,
    };
    let later_tuples_unread = later.mark(&mut plan_rows, &mut dec, &mut clog);
    let live_copies = if key_kind == KeyKind::AllColumns {
        let wanted: HashSet<&Image> = plan_rows
            .iter()
            .filter(|r| r.status == RowStatus::Restorable)
            .flat_map(|r| r.old.iter().chain(r.new.iter()))
            .collect();
        dec.live_counts(&wanted)
    } else {
        HashMap::new()
    };
    let schema = cat
        .namespaces
        .get(&class.relnamespace)
        .cloned()
        .unwrap_or_default();
    Ok(TablePlan {
        schema,
        name: class.relname.clone(),
        columns,
        key_cols,
        key_kind,
        rows: plan_rows,
        later_tuples_unread,
        warnings,
        live_copies,
    })
}

/// What planning knows before the replay.
pub(crate) struct Setup {
    pub(crate) columns: Vec<Column>,
    pub(crate) key_cols: Vec<usize>,
    pub(crate) key_kind: KeyKind,
    pub(crate) warnings: Vec<String>,
    /// Target transaction → its commit LSN.
    pub(crate) commit_of: HashMap<u32, Lsn>,
}

/// The columns and key of the table, and the warnings about the targets'
/// status in `pg_xact` and the catalog.
pub(crate) fn setup(
    cat: &Catalog,
    class: &ClassRow,
    scan: &TableScan<'_>,
    clog: &mut Clog,
    targets: &[XactSummary],
    old_columns: &HashMap<RelKey, OldColumns>,
) -> Result<Setup, Error> {
    let mut warnings: Vec<String> = scan.warnings.iter().map(ToString::to_string).collect();
    let commit_of: HashMap<u32, Lsn> = targets.iter().map(|t| (t.xid, t.commit_lsn)).collect();
    for t in targets {
        let st = clog.status(t.xid);
        if !matches!(st, XidStatus::Committed) {
            warnings.push(format!(
                "pg_xact says {st:?} for transaction {}, whose commit record is at {}",
                t.xid, t.commit_lsn
            ));
        }
    }
    let (type_schemas, ts_warnings) = cat.type_schemas()?;
    warnings.extend(
        ts_warnings
            .iter()
            .map(|w| format!("pg_type: {}", w.message())),
    );
    let columns: Vec<Column> = scan
        .columns()
        .map(|a| Column {
            type_schema: type_schemas
                .get(&a.atttypid)
                .filter(|s| *s != "pg_catalog")
                .cloned(),
            name: a.attname.clone(),
            type_oid: a.atttypid,
            type_name: cat
                .types
                .type_info(a.atttypid)
                .map_or_else(|| "?".to_string(), |t| t.name.clone()),
            generated: a.attgenerated != 0,
            retyped: old_columns.values().any(|o| {
                o.attrs.iter().any(|b| {
                    b.attnum == a.attnum && (b.atttypid, b.atttypmod) != (a.atttypid, a.atttypmod)
                })
            }),
        })
        .collect();
    let (key_cols, key_kind) = choose_key(cat, class, scan, &mut warnings)?;
    Ok(Setup {
        columns,
        key_cols,
        key_kind,
        warnings,
        commit_of,
    })
}

/// The row key: the primary key, else a unique index, else all columns. When
/// `pg_index` cannot be read, all columns are used and a warning says why.
fn choose_key(
    cat: &Catalog,
    class: &ClassRow,
    scan: &TableScan<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Vec<usize>, KeyKind), Error> {
    let attnums: Vec<i16> = scan.columns().map(|a| a.attnum).collect();
    let (indexes, index_warnings) = cat.indexes(class.oid)?;
    for w in index_warnings {
        warnings.push(format!(
            "pg_index ({}): {}; rows are addressed by all columns unless a key was read",
            w.what(),
            w.message()
        ));
    }
    for ix in indexes.iter().filter(|i| i.is_row_key()) {
        let cols: Option<Vec<usize>> = ix
            .key_attnums
            .iter()
            .map(|a| attnums.iter().position(|x| x == a))
            .collect();
        if let Some(cols) = cols {
            let kind = if ix.indisprimary {
                KeyKind::PrimaryKey(ix.indexrelid)
            } else {
                KeyKind::UniqueIndex(ix.indexrelid)
            };
            return Ok((cols, kind));
        }
    }
    Ok(((0..attnums.len()).collect(), KeyKind::AllColumns))
}

/// Turns tuple bytes of the table into printed values.
pub(crate) struct Decoder<'a, 'c> {
    cat: &'c Catalog,
    scan: TableScan<'c>,
    printers: Vec<Option<Printer>>,
    typmods: Vec<i32>,
    type_oids: Vec<u32>,
    chunks: &'a HashMap<(u32, i32), Vec<u8>>,
    /// Whether [`finish_row`] keeps the old image's datums too.
    keep_values: bool,
    /// Decoders of earlier files written with other columns, and the
    /// attnums whose type then is unknown.
    old: HashMap<RelKey, (Box<Decoder<'a, 'c>>, Vec<i16>)>,
}

impl<'a, 'c> Decoder<'a, 'c> {
    /// Adds a decoder for each earlier file written with other columns
    /// (`pgrescue::oldcols`), keeping values as this one does.
    pub(crate) fn add_old_files(
        &mut self,
        old_columns: &HashMap<RelKey, OldColumns>,
    ) -> Result<(), Error> {
        for (rel, cols) in old_columns {
            let old_scan = self.scan.with_attrs(cols.attrs.clone())?;
            let mut old = Decoder::new(self.cat, old_scan, self.chunks);
            old.keep_values = self.keep_values;
            self.old.insert(*rel, (Box::new(old), cols.unknown.clone()));
        }
        Ok(())
    }

    pub(crate) fn new(
        cat: &'c Catalog,
        scan: TableScan<'c>,
        chunks: &'a HashMap<(u32, i32), Vec<u8>>,
    ) -> Self {
        Self {
            cat,
            printers: scan
                .columns()
                .map(|a| Printer::new(&cat.types, a.atttypid).ok())
                .collect(),
            typmods: scan.columns().map(|a| a.atttypmod).collect(),
            type_oids: scan.columns().map(|a| a.atttypid).collect(),
            scan,
            chunks,
            keep_values: false,
            old: HashMap::new(),
        }
    }

    /// The decoder of images from file `rel`: the one of its old columns
    /// when the file was written with other columns. Refuses a tuple that
    /// stores a column whose type then is unknown.
    fn for_image(&mut self, rel: Option<RelKey>, bytes: &[u8]) -> Result<&mut Self, String> {
        let Some(r) = rel.filter(|r| self.old.contains_key(r)) else {
            return Ok(self);
        };
        let natts = HeapTuple::parse(bytes, BlockNo(0), 0)
            .map_err(|e| e.to_string())?
            .natts();
        let Some((old, unknown)) = self.old.get_mut(&r) else {
            return Err("no decoder for the earlier file".to_string());
        };
        if let Some(a) = unknown
            .iter()
            .find(|&&a| a > 0 && a.cast_unsigned() <= natts)
        {
            return Err(format!(
                "written before a rewrite of the table, and the type column {a} had then is not in pg_attribute any more (vacuumed); not guessed"
            ));
        }
        Ok(old)
    }

    /// The row decoder handed in to [`Decoder::new`].
    pub(crate) fn into_scan(self) -> TableScan<'c> {
        self.scan
    }

    /// The datums of a whole tuple (TOAST values inlined).
    fn values<'b>(&mut self, bytes: &'b [u8]) -> Result<Vec<Value<'b>>, String> {
        let t = HeapTuple::parse(bytes, BlockNo(0), 0).map_err(|e| e.to_string())?;
        let chunks = self.chunks;
        self.scan
            .tuple_values(&t, &mut |ptr| wal_chunks(chunks, ptr))
            .map_err(|e| e.to_string())
    }

    /// The datums of a whole tuple, owned.
    fn owned_values(&mut self, bytes: &[u8]) -> Result<Vec<Value<'static>>, String> {
        Ok(self
            .values(bytes)?
            .into_iter()
            .map(|v| match v {
                Value::Null => Value::Null,
                Value::Datum(d) => Value::Datum(std::borrow::Cow::Owned(d.into_owned())),
                Value::Broken(why) => Value::Broken(why),
            })
            .collect())
    }

    /// The printed values of a whole tuple, or why it cannot be printed.
    pub(crate) fn decode(&mut self, bytes: &[u8]) -> Result<Image, String> {
        let values = self.values(bytes)?;
        let mut out = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            out.push(self.print_value(i, v)?);
        }
        Ok(out)
    }

    /// The printed key columns of a tuple.
    pub(crate) fn key(&mut self, bytes: &[u8], key_cols: &[usize]) -> Result<Image, String> {
        let all = self.decode(bytes)?;
        Ok(key_cols
            .iter()
            .map(|&k| all.get(k).cloned().flatten())
            .collect())
    }

    /// How many live rows of the heap print as each of `wanted`.
    fn live_counts(&mut self, wanted: &HashSet<&Image>) -> HashMap<Image, u64> {
        let mut counts: HashMap<Image, u64> = HashMap::new();
        if wanted.is_empty() {
            return counts;
        }
        let cols = Columns {
            cat: self.cat,
            printers: &self.printers,
            typmods: &self.typmods,
            type_oids: &self.type_oids,
        };
        self.scan.scan(ScanMode::Live, |row| {
            let img: Result<Image, String> = row
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| cols.print(i, v))
                .collect();
            if let Ok(img) = img
                && wanted.contains(&img)
            {
                let n = counts.entry(img).or_default();
                *n = n.saturating_add(1);
            }
            true
        });
        counts
    }

    fn print_value(&self, i: usize, v: &Value<'_>) -> Result<Option<String>, String> {
        Columns {
            cat: self.cat,
            printers: &self.printers,
            typmods: &self.typmods,
            type_oids: &self.type_oids,
        }
        .print(i, v)
    }
}

/// The printers of the table's columns.
struct Columns<'d> {
    cat: &'d Catalog,
    printers: &'d [Option<Printer>],
    typmods: &'d [i32],
    type_oids: &'d [u32],
}

impl Columns<'_> {
    fn print(&self, i: usize, v: &Value<'_>) -> Result<Option<String>, String> {
        match v {
            Value::Null => Ok(None),
            Value::Broken(why) => Err(format!("column {}: {why}", i.saturating_add(1))),
            Value::Datum(d) => {
                let mut s = String::new();
                let typmod = self.typmods.get(i).copied().unwrap_or(-1);
                let oid = self.type_oids.get(i).copied().unwrap_or(0);
                // The resolved printer ignores the typmod; use it only when there is none.
                let r = match self.printers.get(i).copied().flatten() {
                    Some(p) if typmod < 0 => p.write(&self.cat.types, d, &mut s),
                    _ => rowcodec::pg::output_into(&self.cat.types, oid, typmod, d, &mut s),
                };
                r.map(|()| Some(s))
                    .map_err(|e| format!("column {}: {e}", i.saturating_add(1)))
            }
        }
    }
}

/// The concatenated chunks of `ptr` recovered from WAL, if all are there.
fn wal_chunks(chunks: &HashMap<(u32, i32), Vec<u8>>, ptr: ToastPointer) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut seq = 0i32;
    while out.len() < ptr.ext_size() {
        out.extend_from_slice(chunks.get(&(ptr.value_id, seq))?);
        seq = seq.checked_add(1)?;
    }
    Some(out)
}

pub(crate) fn finish_row(r: &PendingRow, dec: &mut Decoder<'_, '_>, key_cols: &[usize]) -> PlanRow {
    let mut problems = Vec::new();
    let mut image = |cap: &Option<Captured>, what: &str| -> (Option<Image>, Option<Source>) {
        let Some(cap) = cap else {
            return (None, None);
        };
        match &cap.bytes {
            Some(b) => match dec.for_image(cap.rel, b).and_then(|d| d.decode(b)) {
                Ok(v) => (Some(v), cap.source),
                Err(e) => {
                    problems.push(format!("{what} image: {e}"));
                    (None, cap.source)
                }
            },
            None => {
                problems.push(format!("{what} image: {}", cap.why_missing));
                (None, cap.source)
            }
        }
    };
    let (old, old_source) = image(&r.old, "old");
    let (new, new_source) = image(&r.new, "new");
    let old_values = match (&r.old, &old, dec.keep_values) {
        (
            Some(Captured {
                bytes: Some(b),
                rel,
                ..
            }),
            Some(_),
            true,
        ) => dec.for_image(*rel, b).and_then(|d| d.owned_values(b)).ok(),
        _ => None,
    };
    let key_from = if r.kind == RowKind::Reinsert {
        &old
    } else {
        &new
    };
    let key = key_from
        .as_ref()
        .map(|img| {
            key_cols
                .iter()
                .map(|&k| img.get(k).cloned().flatten())
                .collect()
        })
        .unwrap_or_default();
    let status = if problems.is_empty() {
        RowStatus::Restorable
    } else {
        RowStatus::Incomplete {
            reason: problems.join("; "),
        }
    };
    PlanRow {
        kind: r.kind,
        xid: r.xid,
        lsn: r.lsn,
        key,
        old,
        new,
        old_values,
        old_source,
        new_source,
        status,
    }
}
