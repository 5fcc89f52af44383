//! Catalog bootstrap from heap files alone.
//!
//! Order of reading (no server, no relcache):
//! 1. `global/pg_filenode.map` → `pg_database` (1262) → databases.
//! 2. `base/<db>/pg_filenode.map` → `pg_class` (1259), `pg_attribute` (1249),
//!    `pg_type` (1247), `pg_proc` (1255) (mapped: `relfilenode` is 0 in pg_class).
//! 3. `pg_class` rows give the files of `pg_namespace` (2615) and `pg_enum` (3501).
//!
//! Catalog tuple layouts differ per major; the column lists below are what
//! each major's own `pg_attribute` says about these catalogs (queried from
//! real 13–18 servers). Only committed, undeleted catalog tuples are used.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use rowcodec::pg::TypeMap;

use crate::bytes::{i16_at, i32_at, u32_at};
use crate::datadir::{DEFAULTTABLESPACE_OID, DataDir, Fork, GLOBALTABLESPACE_OID, RelLocator};
use crate::error::{BlockNo, Error, Result};
use crate::multixact::MultiXacts;
use crate::relation::RelationFile;
use crate::relmap::RelMap;
use crate::tuple::{AttrLayout, HeapTuple};
use crate::varlena;
use crate::visibility::{TupleStatus, tuple_status_multi};
use crate::xact::Clog;

mod attrhist;
mod inherits;
mod layout;
mod names;
mod typens;
mod types;
mod warning;

pub use attrhist::{AttrVersion, attr_version};
pub use inherits::{INHERITS_RELATION_ID, InheritTree};
pub use layout::TOAST_LAYOUT;
use layout::*;
pub use warning::Warning;

/// OID of `pg_database`.
pub const DATABASE_RELATION_ID: u32 = 1262;
/// OID of `pg_class`.
pub const RELATION_RELATION_ID: u32 = 1259;
/// OID of `pg_attribute`.
pub const ATTRIBUTE_RELATION_ID: u32 = 1249;
/// OID of `pg_type`.
pub const TYPE_RELATION_ID: u32 = 1247;
/// OID of `pg_proc`.
pub const PROCEDURE_RELATION_ID: u32 = 1255;
/// OID of `pg_namespace`.
pub const NAMESPACE_RELATION_ID: u32 = 2615;
/// OID of `pg_enum`.
pub const ENUM_RELATION_ID: u32 = 3501;
/// OID of `pg_index`.
pub const INDEX_RELATION_ID: u32 = 2610;
/// OID of `pg_range`.
pub const RANGE_RELATION_ID: u32 = 3541;
/// `FirstNormalObjectId`: OIDs of user-created objects start here.
pub const FIRST_NORMAL_OBJECT_ID: u32 = 16384;

/// One deformed catalog row.
struct Row<'s, 'a> {
    schema: &'s Schema,
    vals: Vec<Option<&'a [u8]>>,
}

impl<'s, 'a> Row<'s, 'a> {
    /// Row `t` deformed by `schema`.
    fn of(schema: &'s Schema, t: &HeapTuple<'a>) -> Option<Self> {
        Some(Row {
            schema,
            vals: t.deform(&schema.layouts).ok()?,
        })
    }
    fn raw(&self, col: &str) -> Option<&[u8]> {
        self.vals.get(self.schema.idx(col)?).copied().flatten()
    }
    fn u32(&self, col: &str) -> u32 {
        self.raw(col).and_then(|b| u32_at(b, 0)).unwrap_or(0)
    }
    fn i32(&self, col: &str) -> i32 {
        self.raw(col).and_then(|b| i32_at(b, 0)).unwrap_or(0)
    }
    fn i16(&self, col: &str) -> i16 {
        self.raw(col).and_then(|b| i16_at(b, 0)).unwrap_or(0)
    }
    fn u8(&self, col: &str) -> u8 {
        self.raw(col).and_then(|b| b.first().copied()).unwrap_or(0)
    }
    fn name(&self, col: &str) -> String {
        let b = self.raw(col).unwrap_or_default();
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
    }
}

/// A `pg_index` row (the parts that say which columns address a row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    /// `indexrelid`: the index's own OID.
    pub indexrelid: u32,
    /// `indrelid`: the table.
    pub indrelid: u32,
    /// `indisprimary`.
    pub indisprimary: bool,
    /// `indisunique`.
    pub indisunique: bool,
    /// `indisvalid` (false while `CREATE INDEX CONCURRENTLY` runs or after it failed).
    pub indisvalid: bool,
    /// `indimmediate` (false for deferrable constraints).
    pub indimmediate: bool,
    /// The key columns' attnums (the first `indnkeyatts` of `indkey`; 0
    /// means an expression).
    pub key_attnums: Vec<i16>,
    /// Whether `indexprs` or `indpred` is set (expression or partial index).
    pub has_exprs_or_pred: bool,
}

impl IndexRow {
    /// Whether the index can address rows: unique, valid, immediate, plain
    /// columns only and no predicate.
    pub fn is_row_key(&self) -> bool {
        self.indisunique
            && self.indisvalid
            && self.indimmediate
            && !self.has_exprs_or_pred
            && !self.key_attnums.is_empty()
            && self.key_attnums.iter().all(|&a| a > 0)
    }
}

/// The int16 elements of an `int2vector` datum (a one-dimension array).
///
/// ```text
/// payload: i32 ndim | i32 dataoffset | u32 elemtype | i32 dim | i32 lbound | i16 values[dim]
/// ```
fn int2vector(stored: &[u8]) -> Option<Vec<i16>> {
    let varlena::Varlena::Plain(p) = varlena::classify(stored).ok()? else {
        return None;
    };
    let n = usize::try_from(i32_at(p, 12)?).ok()?;
    (0..n)
        .map(|k| i16_at(p, k.checked_mul(2)?.checked_add(20)?))
        .collect()
}

/// Scans every live tuple of a relation with `schema`, calling `f` per row.
fn scan_catalog(
    dir: &DataDir,
    clog: &mut Clog,
    loc: RelLocator,
    schema: &Schema,
    warnings: &mut Vec<Warning>,
    mut f: impl FnMut(&Row<'_, '_>),
) -> Result<()> {
    let rel = RelationFile::open(dir, loc, Fork::Main)?;
    let file = dir.segment_path(loc, Fork::Main, 0);
    let mut multis = MultiXacts::new(dir.root(), dir.block_size_bytes());
    for b in 0..rel.n_blocks() {
        let block = BlockNo(b);
        let page = match rel.page(block) {
            Ok(p) => p,
            Err(e) => {
                warnings.push(Warning::UnreadableBlock {
                    file: file.clone(),
                    block,
                    error: Arc::new(e),
                });
                continue;
            }
        };
        // Unused, dead and redirect line pointers hold no tuple; a normal
        // one whose bytes fall outside the page is damage.
        for id in page
            .item_ids()
            .filter(|id| id.flags == crate::page::LpFlags::Normal)
        {
            let row = page
                .item_bytes(id)
                .and_then(|bytes| HeapTuple::parse(bytes, block, id.lp));
            let tuple = match row {
                Ok(t) => t,
                Err(e) => {
                    warnings.push(Warning::DamagedItem {
                        file: file.clone(),
                        block,
                        lp: id.lp,
                        error: Arc::new(e),
                    });
                    continue;
                }
            };
            if tuple_status_multi(&tuple, clog, &mut multis) != TupleStatus::Live {
                continue;
            }
            match tuple.deform(&schema.layouts) {
                Ok(vals) => f(&Row { schema, vals }),
                Err(e) => warnings.push(Warning::DamagedItem {
                    file: file.clone(),
                    block,
                    lp: id.lp,
                    error: Arc::new(e),
                }),
            }
        }
    }
    Ok(())
}

/// A `pg_database` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseRow {
    /// `oid`
    pub oid: u32,
    /// `datname`
    pub name: String,
    /// `dattablespace`
    pub tablespace: u32,
    /// `encoding` (`pg_encoding`: 6 is UTF8).
    pub encoding: i32,
}

/// Reads `pg_database` (a shared, mapped catalog).
pub fn databases(dir: &DataDir, warnings: &mut Vec<Warning>) -> Result<Vec<DatabaseRow>> {
    let map = read_relmap(dir, 0, GLOBALTABLESPACE_OID)?;
    let rel_number = map
        .filenode(DATABASE_RELATION_ID)
        .ok_or_else(|| Error::NotInRelMap {
            map: PathBuf::from("global/pg_filenode.map"),
            oid: DATABASE_RELATION_ID,
        })?;
    let schema = pick(
        dir.major(),
        &[
            (13, PG_DATABASE_13),
            (15, PG_DATABASE_15),
            (17, PG_DATABASE_17),
        ],
    )?;
    let mut clog = Clog::new(dir.root(), dir.block_size_bytes());
    let loc = RelLocator {
        spc_oid: GLOBALTABLESPACE_OID,
        db_oid: 0,
        rel_number,
    };
    let mut out = Vec::new();
    scan_catalog(dir, &mut clog, loc, &schema, warnings, |r| {
        out.push(DatabaseRow {
            oid: r.u32("oid"),
            name: r.name("datname"),
            tablespace: r.u32("dattablespace"),
            encoding: r.i32("encoding"),
        });
    })?;
    Ok(out)
}

fn read_relmap(dir: &DataDir, db_oid: u32, spc_oid: u32) -> Result<RelMap> {
    let loc = RelLocator {
        spc_oid,
        db_oid,
        rel_number: 0,
    };
    let path = dir.rel_dir(loc).join("pg_filenode.map");
    let ev = evidence::Evidence::open(path)?;
    RelMap::parse(ev.bytes(), dir.major())
}

/// A `pg_class` row.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassRow {
    /// `oid`
    pub oid: u32,
    /// `relname`
    pub relname: String,
    /// `relnamespace`
    pub relnamespace: u32,
    /// `relfilenode` (0 for mapped catalogs)
    pub relfilenode: u32,
    /// `reltablespace` (0 = the database's default)
    pub reltablespace: u32,
    /// `relpages`
    pub relpages: i32,
    /// `reltuples` (-1 = never analyzed, 14+)
    pub reltuples: f32,
    /// `reltoastrelid`
    pub reltoastrelid: u32,
    /// `relisshared`
    pub relisshared: bool,
    /// `relpersistence`
    pub relpersistence: u8,
    /// `relkind`
    pub relkind: u8,
    /// `relnatts`
    pub relnatts: i16,
}

/// The identity fields of one `pg_class` tuple version, read from whole
/// tuple bytes (a heap page or a tuple rebuilt from WAL): which relation it
/// describes and which files it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassIds {
    /// `oid`
    pub oid: u32,
    /// `relfilenode` (0 for mapped catalogs)
    pub relfilenode: u32,
    /// `reltoastrelid`
    pub reltoastrelid: u32,
    /// `relkind`
    pub relkind: u8,
}

/// The [`ClassIds`] of a whole `pg_class` tuple of major `major`; `None`
/// when the bytes do not deform as a `pg_class` row.
///
/// ```
/// assert_eq!(pgdata::catalog::class_ids(15, &[0u8; 10]), None);
/// ```
pub fn class_ids(major: u32, tuple: &[u8]) -> Option<ClassIds> {
    let schema = pick(major, &[(13, PG_CLASS_13), (18, PG_CLASS_18)]).ok()?;
    let t = HeapTuple::parse(tuple, BlockNo(0), 0).ok()?;
    let r = Row::of(&schema, &t)?;
    // Every fixed column of pg_class is NOT NULL: a missing one is not a row.
    r.raw("relkind")?;
    Some(ClassIds {
        oid: r.u32("oid"),
        relfilenode: r.u32("relfilenode"),
        reltoastrelid: r.u32("reltoastrelid"),
        relkind: r.u8("relkind"),
    })
}

/// A `pg_attribute` row.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrRow {
    /// `attname`
    pub attname: String,
    /// `atttypid`
    pub atttypid: u32,
    /// `attlen`
    pub attlen: i16,
    /// `attnum`
    pub attnum: i16,
    /// `atttypmod`
    pub atttypmod: i32,
    /// `attbyval`
    pub attbyval: bool,
    /// `attalign`
    pub attalign: u8,
    /// `attstorage`
    pub attstorage: u8,
    /// `attcompression` (14+; 0 = default)
    pub attcompression: u8,
    /// `attisdropped`
    pub attisdropped: bool,
    /// `attgenerated`: `b's'` for a stored generated column, 0 otherwise.
    pub attgenerated: u8,
    /// `atthasmissing`
    pub atthasmissing: bool,
    /// `attmissingval`'s single element, as a datum for `rowcodec::pg::output`
    /// (fixed bytes, or varlena payload).
    pub missing_value: Option<Vec<u8>>,
}

impl AttrRow {
    /// How the attribute is stored in tuples.
    pub fn layout(&self) -> AttrLayout {
        AttrLayout::new(self.attlen, self.attalign)
    }
}

/// The type facts of one database, for `rowcodec::pg::output`: rowcodec's
/// one [`TypeMap`], filled from `pg_type`, `pg_enum`, `pg_range` and
/// `pg_attribute`.
pub type Types = TypeMap;

/// One database's catalog, read from its files.
pub struct Catalog {
    dir: DataDir,
    /// The database.
    pub db: DatabaseRow,
    map: RelMap,
    /// Every live `pg_class` row.
    pub classes: Vec<ClassRow>,
    /// `pg_namespace`: oid → name.
    pub namespaces: HashMap<u32, String>,
    /// `pg_type` + `pg_enum` + output function names from `pg_proc`.
    pub types: Types,
    /// Problems met while reading the catalog.
    pub warnings: Vec<Warning>,
    attr_schema: Schema,
    /// Every relation's attributes, read from `pg_attribute` in one scan
    /// the first time [`Catalog::attributes`] is asked.
    attr_cache: std::sync::OnceLock<AllAttributes>,
}

/// Each relation's attributes (and the warnings about them), and the
/// warnings of the `pg_attribute` scan.
type AllAttributes = (HashMap<u32, (Vec<AttrRow>, Vec<Warning>)>, Vec<Warning>);

impl Catalog {
    /// Reads the catalog of database `db`.
    pub fn open(dir: &DataDir, db: DatabaseRow) -> Result<Self> {
        let major = dir.major();
        let class_schema = pick(major, &[(13, PG_CLASS_13), (18, PG_CLASS_18)])?;
        let attr_schema = pick(major, PG_ATTRIBUTE_BY_MAJOR)?;
        let type_schema = pick(major, &[(13, PG_TYPE_13), (14, PG_TYPE_14)])?;
        let spc = if db.tablespace == 0 {
            DEFAULTTABLESPACE_OID
        } else {
            db.tablespace
        };
        let map = read_relmap(dir, db.oid, spc)?;
        let mut cat = Self {
            dir: dir.clone(),
            db,
            map,
            classes: Vec::new(),
            namespaces: HashMap::new(),
            types: TypeMap::empty(),
            warnings: Vec::new(),
            attr_schema,
            attr_cache: std::sync::OnceLock::new(),
        };
        let mut clog = Clog::new(dir.root(), dir.block_size_bytes());
        let mut warnings = Vec::new();
        cat.classes = cat.read_classes(&mut clog, &class_schema, &mut warnings)?;
        cat.namespaces = cat.read_namespaces(&mut clog, &mut warnings)?;
        cat.types = cat.read_types(&mut clog, &type_schema, &mut warnings)?;
        let names = cat.read_object_names(&mut clog, &type_schema, &mut warnings);
        cat.types.set_object_names(names);
        cat.warnings = warnings;
        Ok(cat)
    }

    /// Every live `pg_class` row, read with `class_schema`.
    fn read_classes(
        &self,
        clog: &mut Clog,
        class_schema: &Schema,
        warnings: &mut Vec<Warning>,
    ) -> Result<Vec<ClassRow>> {
        let mut classes = Vec::new();
        let class_loc = self.mapped_locator(RELATION_RELATION_ID)?;
        scan_catalog(&self.dir, clog, class_loc, class_schema, warnings, |r| {
            classes.push(ClassRow {
                oid: r.u32("oid"),
                relname: r.name("relname"),
                relnamespace: r.u32("relnamespace"),
                relfilenode: r.u32("relfilenode"),
                reltablespace: r.u32("reltablespace"),
                relpages: r.i32("relpages"),
                reltuples: f32::from_bits(r.u32("reltuples")),
                reltoastrelid: r.u32("reltoastrelid"),
                relisshared: r.u8("relisshared") != 0,
                relpersistence: r.u8("relpersistence"),
                relkind: r.u8("relkind"),
                relnatts: r.i16("relnatts"),
            });
        })?;
        Ok(classes)
    }

    /// `pg_namespace`: oid → name (found through the `pg_class` rows read).
    fn read_namespaces(
        &self,
        clog: &mut Clog,
        warnings: &mut Vec<Warning>,
    ) -> Result<HashMap<u32, String>> {
        let ns_loc = self.locator_of(NAMESPACE_RELATION_ID)?;
        let ns_schema = Schema::parse(PG_NAMESPACE);
        let mut namespaces = HashMap::new();
        scan_catalog(&self.dir, clog, ns_loc, &ns_schema, warnings, |r| {
            namespaces.insert(r.u32("oid"), r.name("nspname"));
        })?;
        Ok(namespaces)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.dir
    }

    fn mapped_locator(&self, oid: u32) -> Result<RelLocator> {
        let rel_number = self.map.filenode(oid).ok_or_else(|| Error::NotInRelMap {
            map: self
                .dir
                .rel_dir(RelLocator {
                    spc_oid: self.db_spc(),
                    db_oid: self.db.oid,
                    rel_number: 0,
                })
                .join("pg_filenode.map"),
            oid,
        })?;
        Ok(RelLocator {
            spc_oid: self.db_spc(),
            db_oid: self.db.oid,
            rel_number,
        })
    }

    fn db_spc(&self) -> u32 {
        if self.db.tablespace == 0 {
            DEFAULTTABLESPACE_OID
        } else {
            self.db.tablespace
        }
    }

    /// The `pg_class` row of `oid`.
    pub fn class(&self, oid: u32) -> Option<&ClassRow> {
        self.classes.iter().find(|c| c.oid == oid)
    }

    /// Where the files of relation `oid` live.
    pub fn locator_of(&self, oid: u32) -> Result<RelLocator> {
        let c = self.class(oid).ok_or(Error::NotInPgClass { oid })?;
        self.locator(c)
    }

    /// Where the files of a `pg_class` row live.
    pub fn locator(&self, c: &ClassRow) -> Result<RelLocator> {
        if c.relisshared {
            let map = read_relmap(&self.dir, 0, GLOBALTABLESPACE_OID)?;
            let rel_number = if c.relfilenode != 0 {
                c.relfilenode
            } else {
                map.filenode(c.oid).ok_or_else(|| Error::NotInRelMap {
                    map: PathBuf::from("global/pg_filenode.map"),
                    oid: c.oid,
                })?
            };
            return Ok(RelLocator {
                spc_oid: GLOBALTABLESPACE_OID,
                db_oid: 0,
                rel_number,
            });
        }
        if c.relfilenode == 0 {
            return self.mapped_locator(c.oid);
        }
        let spc_oid = if c.reltablespace == 0 {
            self.db_spc()
        } else {
            c.reltablespace
        };
        Ok(RelLocator {
            spc_oid,
            db_oid: self.db.oid,
            rel_number: c.relfilenode,
        })
    }

    /// The `pg_index` rows of table `oid` (live ones), primary key first,
    /// then unique indexes by OID.
    pub fn indexes(&self, oid: u32) -> Result<(Vec<IndexRow>, Vec<Warning>)> {
        let schema = pick(self.dir.major(), &[(13, PG_INDEX_13), (15, PG_INDEX_15)])?;
        let loc = self.locator_of(INDEX_RELATION_ID)?;
        let mut clog = Clog::new(self.dir.root(), self.dir.block_size_bytes());
        let mut warnings = Vec::new();
        // pg_index always holds the catalogs' own indexes: no blocks means
        // its file is missing (a trimmed copy), not "no indexes".
        if RelationFile::open(&self.dir, loc, Fork::Main)?.n_blocks() == 0 {
            warnings.push(Warning::EmptyCatalog {
                dir: self.dir.rel_dir(loc),
                catalog: "pg_index",
                rel_number: loc.rel_number,
            });
        }
        let mut out = Vec::new();
        let mut unreadable_keys = Vec::new();
        scan_catalog(&self.dir, &mut clog, loc, &schema, &mut warnings, |r| {
            if r.u32("indrelid") != oid {
                return;
            }
            let nkey = usize::try_from(r.i16("indnkeyatts")).unwrap_or(0);
            let mut key_attnums = r.raw("indkey").and_then(int2vector).unwrap_or_else(|| {
                unreadable_keys.push(Warning::UnreadableIndexKey {
                    indexrelid: r.u32("indexrelid"),
                });
                Vec::new()
            });
            key_attnums.truncate(nkey);
            out.push(IndexRow {
                indexrelid: r.u32("indexrelid"),
                indrelid: oid,
                indisprimary: r.u8("indisprimary") != 0,
                indisunique: r.u8("indisunique") != 0,
                indisvalid: r.u8("indisvalid") != 0,
                indimmediate: r.u8("indimmediate") != 0,
                key_attnums,
                has_exprs_or_pred: r.raw("indexprs").is_some() || r.raw("indpred").is_some(),
            });
        })?;
        out.sort_by_key(|i| (!i.indisprimary, i.indexrelid));
        warnings.extend(unreadable_keys);
        Ok((out, warnings))
    }

    /// Finds a table by schema and name.
    pub fn find_table(&self, schema: &str, name: &str) -> Option<&ClassRow> {
        self.classes.iter().find(|c| {
            c.relname == name
                && self.namespaces.get(&c.relnamespace).map(String::as_str) == Some(schema)
        })
    }

    /// The user attributes of relation `oid` (attnum > 0, in attnum order,
    /// dropped ones included and marked). `pg_attribute` is scanned once,
    /// for every relation, the first time (so a dump of many tables reads
    /// it once).
    pub fn attributes(&self, oid: u32) -> Result<(Vec<AttrRow>, Vec<Warning>)> {
        let (map, scan_warnings) = match self.attr_cache.get() {
            Some(all) => all,
            None => {
                let all = self.read_all_attributes()?;
                self.attr_cache.get_or_init(|| all)
            }
        };
        let (attrs, own) = map.get(&oid).cloned().unwrap_or_default();
        let mut warnings = scan_warnings.clone();
        warnings.extend(own);
        Ok((attrs, warnings))
    }

    /// Every relation's user attributes, from one scan of `pg_attribute`.
    fn read_all_attributes(&self) -> Result<AllAttributes> {
        let mut clog = Clog::new(self.dir.root(), self.dir.block_size_bytes());
        let mut warnings = Vec::new();
        let loc = self.mapped_locator(ATTRIBUTE_RELATION_ID)?;
        let mut map: HashMap<u32, (Vec<AttrRow>, Vec<Warning>)> = HashMap::new();
        let schema = &self.attr_schema;
        scan_catalog(&self.dir, &mut clog, loc, schema, &mut warnings, |r| {
            let oid = r.u32("attrelid");
            if r.i16("attnum") <= 0 {
                return;
            }
            let entry = map.entry(oid).or_default();
            let atthasmissing = r.u8("atthasmissing") != 0;
            let missing_value = if atthasmissing {
                let m = r.raw("attmissingval").and_then(missing_element);
                if m.is_none() {
                    entry.1.push(Warning::UnreadableMissingValue {
                        attrelid: oid,
                        attnum: r.i16("attnum"),
                    });
                }
                m
            } else {
                None
            };
            entry.0.push(attr_row(r, atthasmissing, missing_value));
        })?;
        for (attrs, _) in map.values_mut() {
            attrs.sort_by_key(|a| a.attnum);
        }
        Ok((map, warnings))
    }
}

/// The [`AttrRow`] of a deformed `pg_attribute` row.
fn attr_row(r: &Row<'_, '_>, atthasmissing: bool, missing_value: Option<Vec<u8>>) -> AttrRow {
    AttrRow {
        attname: r.name("attname"),
        atttypid: r.u32("atttypid"),
        attlen: r.i16("attlen"),
        attnum: r.i16("attnum"),
        atttypmod: r.i32("atttypmod"),
        attbyval: r.u8("attbyval") != 0,
        attalign: r.u8("attalign"),
        attstorage: r.u8("attstorage"),
        attcompression: r.u8("attcompression"),
        attisdropped: r.u8("attisdropped") != 0,
        attgenerated: r.u8("attgenerated"),
        atthasmissing,
        missing_value,
    }
}

/// The single element of an `attmissingval` array (a one-element, one-dimension
/// array of the column's type), as a datum.
///
/// ```text
/// payload: i32 ndim | i32 dataoffset (0: no null bitmap) | u32 elemtype | i32 dims[ndim] | i32 lbound[ndim]
/// element data at MAXALIGN(16 + 8*ndim) from the start of the 4-byte header, or at dataoffset
/// ```
fn missing_element(stored: &[u8]) -> Option<Vec<u8>> {
    let payload: Vec<u8> = match varlena::classify(stored).ok()? {
        varlena::Varlena::Plain(p) => p.to_vec(),
        varlena::Varlena::Compressed {
            method,
            rawsize,
            data,
        } => varlena::decompress(method, data, rawsize).ok()?,
        varlena::Varlena::External(_) => return None,
    };
    let ndim = i32_at(&payload, 0)?;
    let dataoffset = i32_at(&payload, 4)?;
    if ndim != 1 {
        return None;
    }
    // Offsets below count from the 4-byte varlena header; payload starts 4 later.
    let start = if dataoffset != 0 {
        usize::try_from(dataoffset).ok()?
    } else {
        24
    };
    let elem = payload.get(start.checked_sub(4)?..)?;
    Some(elem.to_vec())
}
