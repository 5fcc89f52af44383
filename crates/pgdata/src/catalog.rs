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

use rowcodec::pg::{CompositeAttr, TypeCatalog, TypeInfo};

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

struct Schema {
    names: Vec<&'static str>,
    layouts: Vec<AttrLayout>,
}

impl Schema {
    fn parse(spec: &'static str) -> Self {
        let mut names = Vec::new();
        let mut layouts = Vec::new();
        for col in spec.split_whitespace() {
            let mut it = col.split(':');
            let (Some(n), Some(len), Some(al)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            names.push(n);
            layouts.push(AttrLayout::new(
                len.parse().unwrap_or(-1),
                al.bytes().next().unwrap_or(b'c'),
            ));
        }
        Self { names, layouts }
    }
    fn idx(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == name)
    }
}

const PG_CLASS_13: &str = "oid:4:i relname:64:c relnamespace:4:i reltype:4:i reloftype:4:i relowner:4:i relam:4:i relfilenode:4:i reltablespace:4:i relpages:4:i reltuples:4:i relallvisible:4:i reltoastrelid:4:i relhasindex:1:c relisshared:1:c relpersistence:1:c relkind:1:c relnatts:2:s";
const PG_CLASS_18: &str = "oid:4:i relname:64:c relnamespace:4:i reltype:4:i reloftype:4:i relowner:4:i relam:4:i relfilenode:4:i reltablespace:4:i relpages:4:i reltuples:4:i relallvisible:4:i relallfrozen:4:i reltoastrelid:4:i relhasindex:1:c relisshared:1:c relpersistence:1:c relkind:1:c relnatts:2:s";
const PG_ATTRIBUTE_13: &str = "attrelid:4:i attname:64:c atttypid:4:i attstattarget:4:i attlen:2:s attnum:2:s attndims:4:i attcacheoff:4:i atttypmod:4:i attbyval:1:c attstorage:1:c attalign:1:c attnotnull:1:c atthasdef:1:c atthasmissing:1:c attidentity:1:c attgenerated:1:c attisdropped:1:c attislocal:1:c attinhcount:4:i attcollation:4:i attacl:-1:i attoptions:-1:i attfdwoptions:-1:i attmissingval:-1:d";
const PG_ATTRIBUTE_14: &str = "attrelid:4:i attname:64:c atttypid:4:i attstattarget:4:i attlen:2:s attnum:2:s attndims:4:i attcacheoff:4:i atttypmod:4:i attbyval:1:c attalign:1:c attstorage:1:c attcompression:1:c attnotnull:1:c atthasdef:1:c atthasmissing:1:c attidentity:1:c attgenerated:1:c attisdropped:1:c attislocal:1:c attinhcount:4:i attcollation:4:i attacl:-1:i attoptions:-1:i attfdwoptions:-1:i attmissingval:-1:d";
const PG_ATTRIBUTE_16: &str = "attrelid:4:i attname:64:c atttypid:4:i attlen:2:s attnum:2:s attcacheoff:4:i atttypmod:4:i attndims:2:s attbyval:1:c attalign:1:c attstorage:1:c attcompression:1:c attnotnull:1:c atthasdef:1:c atthasmissing:1:c attidentity:1:c attgenerated:1:c attisdropped:1:c attislocal:1:c attinhcount:2:s attstattarget:2:s attcollation:4:i attacl:-1:d attoptions:-1:i attfdwoptions:-1:i attmissingval:-1:d";
const PG_ATTRIBUTE_17: &str = "attrelid:4:i attname:64:c atttypid:4:i attlen:2:s attnum:2:s attcacheoff:4:i atttypmod:4:i attndims:2:s attbyval:1:c attalign:1:c attstorage:1:c attcompression:1:c attnotnull:1:c atthasdef:1:c atthasmissing:1:c attidentity:1:c attgenerated:1:c attisdropped:1:c attislocal:1:c attinhcount:2:s attcollation:4:i attstattarget:2:s attacl:-1:d attoptions:-1:i attfdwoptions:-1:i attmissingval:-1:d";
const PG_ATTRIBUTE_18: &str = "attrelid:4:i attname:64:c atttypid:4:i attlen:2:s attnum:2:s atttypmod:4:i attndims:2:s attbyval:1:c attalign:1:c attstorage:1:c attcompression:1:c attnotnull:1:c atthasdef:1:c atthasmissing:1:c attidentity:1:c attgenerated:1:c attisdropped:1:c attislocal:1:c attinhcount:2:s attcollation:4:i attstattarget:2:s attacl:-1:d attoptions:-1:i attfdwoptions:-1:i attmissingval:-1:d";
const PG_TYPE_13: &str = "oid:4:i typname:64:c typnamespace:4:i typowner:4:i typlen:2:s typbyval:1:c typtype:1:c typcategory:1:c typispreferred:1:c typisdefined:1:c typdelim:1:c typrelid:4:i typelem:4:i typarray:4:i typinput:4:i typoutput:4:i typreceive:4:i typsend:4:i typmodin:4:i typmodout:4:i typanalyze:4:i typalign:1:c typstorage:1:c typnotnull:1:c typbasetype:4:i";
const PG_TYPE_14: &str = "oid:4:i typname:64:c typnamespace:4:i typowner:4:i typlen:2:s typbyval:1:c typtype:1:c typcategory:1:c typispreferred:1:c typisdefined:1:c typdelim:1:c typrelid:4:i typsubscript:4:i typelem:4:i typarray:4:i typinput:4:i typoutput:4:i typreceive:4:i typsend:4:i typmodin:4:i typmodout:4:i typanalyze:4:i typalign:1:c typstorage:1:c typnotnull:1:c typbasetype:4:i";
const PG_DATABASE_13: &str = "oid:4:i datname:64:c datdba:4:i encoding:4:i datcollate:64:c datctype:64:c datistemplate:1:c datallowconn:1:c datconnlimit:4:i datlastsysoid:4:i datfrozenxid:4:i datminmxid:4:i dattablespace:4:i";
const PG_DATABASE_15: &str = "oid:4:i datname:64:c datdba:4:i encoding:4:i datlocprovider:1:c datistemplate:1:c datallowconn:1:c datconnlimit:4:i datfrozenxid:4:i datminmxid:4:i dattablespace:4:i";
const PG_DATABASE_17: &str = "oid:4:i datname:64:c datdba:4:i encoding:4:i datlocprovider:1:c datistemplate:1:c datallowconn:1:c dathasloginevt:1:c datconnlimit:4:i datfrozenxid:4:i datminmxid:4:i dattablespace:4:i";
const PG_NAMESPACE: &str = "oid:4:i nspname:64:c";
const PG_PROC: &str = "oid:4:i proname:64:c";
const PG_RANGE_13: &str = "rngtypid:4:i rngsubtype:4:i";
const PG_RANGE_14: &str = "rngtypid:4:i rngsubtype:4:i rngmultitypid:4:i";
// pg_index up to indkey (the int2vector is never null); 15 added
// indnullsnotdistinct after indisunique. indexprs/indpred are read from the
// null bitmap only (a partial or expression index cannot address rows).
const PG_INDEX_13: &str = "indexrelid:4:i indrelid:4:i indnatts:2:s indnkeyatts:2:s indisunique:1:c indisprimary:1:c indisexclusion:1:c indimmediate:1:c indisclustered:1:c indisvalid:1:c indcheckxmin:1:c indisready:1:c indislive:1:c indisreplident:1:c indkey:-1:i indcollation:-1:i indclass:-1:i indoption:-1:i indexprs:-1:i indpred:-1:i";
const PG_INDEX_15: &str = "indexrelid:4:i indrelid:4:i indnatts:2:s indnkeyatts:2:s indisunique:1:c indnullsnotdistinct:1:c indisprimary:1:c indisexclusion:1:c indimmediate:1:c indisclustered:1:c indisvalid:1:c indcheckxmin:1:c indisready:1:c indislive:1:c indisreplident:1:c indkey:-1:i indcollation:-1:i indclass:-1:i indoption:-1:i indexprs:-1:i indpred:-1:i";
const PG_ENUM: &str = "oid:4:i enumtypid:4:i enumsortorder:4:i enumlabel:64:c";

/// TOAST table columns: chunk_id oid, chunk_seq int4, chunk_data bytea.
pub const TOAST_LAYOUT: [AttrLayout; 3] = [
    AttrLayout::new(4, b'i'),
    AttrLayout::new(4, b'i'),
    AttrLayout::new(-1, b'i'),
];

fn pick(major: u32, by: &[(u32, &'static str)]) -> Result<Schema> {
    by.iter()
        .rev()
        .find(|(m, _)| major >= *m)
        .map(|(_, s)| Schema::parse(s))
        .filter(|_| crate::datadir::SUPPORTED_MAJORS.contains(&major))
        .ok_or(Error::UnsupportedVersion { major })
}

/// One deformed catalog row.
struct Row<'s, 'a> {
    schema: &'s Schema,
    vals: Vec<Option<&'a [u8]>>,
}

impl Row<'_, '_> {
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

/// A problem met while reading, with where it happened; reading went on.
#[derive(Debug, Clone)]
pub struct Warning {
    /// Relation file (first segment path) or object.
    pub what: String,
    /// The error.
    pub message: String,
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
    let what = || dir.segment_path(loc, Fork::Main, 0).display().to_string();
    let mut multis = MultiXacts::new(dir.root(), dir.block_size_bytes());
    for b in 0..rel.n_blocks() {
        let page = match rel.page(BlockNo(b)) {
            Ok(p) => p,
            Err(e) => {
                warnings.push(Warning {
                    what: what(),
                    message: e.to_string(),
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
            let bytes = match page.item_bytes(id) {
                Ok(b) => b,
                Err(e) => {
                    warnings.push(Warning {
                        what: what(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            let tuple = match HeapTuple::parse(bytes, BlockNo(b), id.lp) {
                Ok(t) => t,
                Err(e) => {
                    warnings.push(Warning {
                        what: what(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            if tuple_status_multi(&tuple, clog, &mut multis) != TupleStatus::Live {
                continue;
            }
            match tuple.deform(&schema.layouts) {
                Ok(vals) => f(&Row { schema, vals }),
                Err(e) => warnings.push(Warning {
                    what: what(),
                    message: e.to_string(),
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

/// A hasher for OID keys: one multiply instead of SipHash (the type map is
/// consulted for every value printed; OIDs are not attacker-chosen keys
/// that could degrade a hash table in a way that matters here).
#[derive(Debug, Default, Clone, Copy)]
pub struct OidHasher(u64);

impl std::hash::Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type OidMap<V> = HashMap<u32, V, std::hash::BuildHasherDefault<OidHasher>>;

/// The type facts of one database, for `rowcodec::pg::output`.
#[derive(Debug, Default, Clone)]
pub struct Types {
    types: OidMap<TypeInfo>,
    enum_labels: OidMap<String>,
    composites: OidMap<Vec<CompositeAttr>>,
    range_subtypes: OidMap<u32>,
    multirange_ranges: OidMap<u32>,
}

impl Types {
    /// The output function name of type `oid` (`typoutput` resolved through `pg_proc`).
    pub fn type_info_name(&self, oid: u32) -> Option<&str> {
        self.types.get(&oid).map(|t| t.typoutput.as_str())
    }
}

impl TypeCatalog for Types {
    fn type_info(&self, oid: u32) -> Option<&TypeInfo> {
        self.types.get(&oid)
    }
    fn enum_label(&self, enum_oid: u32) -> Option<&str> {
        self.enum_labels.get(&enum_oid).map(String::as_str)
    }
    fn range_subtype(&self, range_oid: u32) -> Option<u32> {
        self.range_subtypes.get(&range_oid).copied()
    }
    fn multirange_range(&self, multirange_oid: u32) -> Option<u32> {
        self.multirange_ranges.get(&multirange_oid).copied()
    }
    fn composite_attrs(&self, type_oid: u32) -> Option<&[CompositeAttr]> {
        self.composites.get(&type_oid).map(Vec::as_slice)
    }
}

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
}

impl Catalog {
    /// Reads the catalog of database `db`.
    pub fn open(dir: &DataDir, db: DatabaseRow) -> Result<Self> {
        let major = dir.major();
        let class_schema = pick(major, &[(13, PG_CLASS_13), (18, PG_CLASS_18)])?;
        let attr_schema = pick(
            major,
            &[
                (13, PG_ATTRIBUTE_13),
                (14, PG_ATTRIBUTE_14),
                (16, PG_ATTRIBUTE_16),
                (17, PG_ATTRIBUTE_17),
                (18, PG_ATTRIBUTE_18),
            ],
        )?;
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
            types: Types::default(),
            warnings: Vec::new(),
            attr_schema,
        };
        let mut clog = Clog::new(dir.root(), dir.block_size_bytes());
        let mut warnings = Vec::new();
        let mut classes = Vec::new();
        let class_loc = cat.mapped_locator(RELATION_RELATION_ID)?;
        scan_catalog(
            dir,
            &mut clog,
            class_loc,
            &class_schema,
            &mut warnings,
            |r| {
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
            },
        )?;
        cat.classes = classes;

        let ns_loc = cat.locator_of(NAMESPACE_RELATION_ID)?;
        let ns_schema = Schema::parse(PG_NAMESPACE);
        let mut namespaces = HashMap::new();
        scan_catalog(dir, &mut clog, ns_loc, &ns_schema, &mut warnings, |r| {
            namespaces.insert(r.u32("oid"), r.name("nspname"));
        })?;
        cat.namespaces = namespaces;

        let mut procs = HashMap::new();
        let proc_loc = cat.mapped_locator(PROCEDURE_RELATION_ID)?;
        let proc_schema = Schema::parse(PG_PROC);
        if let Err(e) = scan_catalog(dir, &mut clog, proc_loc, &proc_schema, &mut warnings, |r| {
            procs.insert(r.u32("oid"), r.name("proname"));
        }) {
            warnings.push(Warning {
                what: "pg_proc".into(),
                message: format!("{e}; output functions inferred from the built-in type list"),
            });
        }

        let mut types = OidMap::default();
        let mut composite_rels: OidMap<u32> = OidMap::default();
        let type_loc = cat.mapped_locator(TYPE_RELATION_ID)?;
        scan_catalog(dir, &mut clog, type_loc, &type_schema, &mut warnings, |r| {
            let oid = r.u32("oid");
            if r.u8("typtype") == b'c' && oid >= FIRST_NORMAL_OBJECT_ID {
                composite_rels.insert(r.u32("typrelid"), oid);
            }
            types.insert(
                oid,
                TypeInfo {
                    oid,
                    name: r.name("typname"),
                    typlen: r.i16("typlen"),
                    typbyval: r.u8("typbyval") != 0,
                    typalign: r.u8("typalign"),
                    typtype: r.u8("typtype"),
                    typelem: r.u32("typelem"),
                    typbasetype: r.u32("typbasetype"),
                    typoutput: procs
                        .get(&r.u32("typoutput"))
                        .cloned()
                        .unwrap_or_else(|| infer_typoutput(oid, r)),
                },
            );
        })?;
        cat.types.types = types;

        let mut labels = OidMap::default();
        if let Ok(enum_loc) = cat.locator_of(ENUM_RELATION_ID) {
            let enum_schema = Schema::parse(PG_ENUM);
            scan_catalog(dir, &mut clog, enum_loc, &enum_schema, &mut warnings, |r| {
                labels.insert(r.u32("oid"), r.name("enumlabel"));
            })?;
        }
        cat.types.enum_labels = labels;
        if let Ok(range_loc) = cat.locator_of(RANGE_RELATION_ID) {
            let range_schema = pick(major, &[(13, PG_RANGE_13), (14, PG_RANGE_14)])?;
            let (mut subs, mut multis) = (OidMap::default(), OidMap::default());
            scan_catalog(
                dir,
                &mut clog,
                range_loc,
                &range_schema,
                &mut warnings,
                |r| {
                    subs.insert(r.u32("rngtypid"), r.u32("rngsubtype"));
                    if r.u32("rngmultitypid") != 0 {
                        multis.insert(r.u32("rngmultitypid"), r.u32("rngtypid"));
                    }
                },
            )?;
            cat.types.range_subtypes = subs;
            cat.types.multirange_ranges = multis;
        }
        if !composite_rels.is_empty() {
            cat.types.composites = cat.composite_attrs(&composite_rels, &mut warnings)?;
        }
        cat.warnings = warnings;
        Ok(cat)
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
            warnings.push(Warning {
                what: self.dir.rel_dir(loc).display().to_string(),
                message: format!("pg_index (relfilenode {}) has no blocks", loc.rel_number),
            });
        }
        let mut out = Vec::new();
        scan_catalog(&self.dir, &mut clog, loc, &schema, &mut warnings, |r| {
            if r.u32("indrelid") != oid {
                return;
            }
            let nkey = usize::try_from(r.i16("indnkeyatts")).unwrap_or(0);
            let mut key_attnums = r.raw("indkey").and_then(int2vector).unwrap_or_default();
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
        Ok((out, warnings))
    }

    /// Finds a table by schema and name.
    pub fn find_table(&self, schema: &str, name: &str) -> Option<&ClassRow> {
        self.classes.iter().find(|c| {
            c.relname == name
                && self.namespaces.get(&c.relnamespace).map(String::as_str) == Some(schema)
        })
    }

    /// Attributes of user composite types, keyed by type OID (`rels` maps
    /// each type's `typrelid` to the type).
    fn composite_attrs(
        &self,
        rels: &OidMap<u32>,
        warnings: &mut Vec<Warning>,
    ) -> Result<OidMap<Vec<CompositeAttr>>> {
        let mut clog = Clog::new(self.dir.root(), self.dir.block_size_bytes());
        let loc = self.mapped_locator(ATTRIBUTE_RELATION_ID)?;
        let mut rows: OidMap<Vec<(i16, CompositeAttr)>> = OidMap::default();
        scan_catalog(
            &self.dir,
            &mut clog,
            loc,
            &self.attr_schema,
            warnings,
            |r| {
                let Some(&type_oid) = rels.get(&r.u32("attrelid")) else {
                    return;
                };
                let attnum = r.i16("attnum");
                if attnum <= 0 {
                    return;
                }
                let dropped = r.u8("attisdropped") != 0;
                rows.entry(type_oid).or_default().push((
                    attnum,
                    CompositeAttr {
                        type_oid: if dropped { 0 } else { r.u32("atttypid") },
                        typmod: r.i32("atttypmod"),
                        attlen: r.i16("attlen"),
                        attalign: r.u8("attalign"),
                        dropped,
                    },
                ));
            },
        )?;
        Ok(rows
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_by_key(|a| a.0);
                (k, v.into_iter().map(|a| a.1).collect())
            })
            .collect())
    }

    /// The user attributes of relation `oid` (attnum > 0, in attnum order,
    /// dropped ones included and marked).
    pub fn attributes(&self, oid: u32) -> Result<(Vec<AttrRow>, Vec<Warning>)> {
        let mut clog = Clog::new(self.dir.root(), self.dir.block_size_bytes());
        let mut warnings = Vec::new();
        let loc = self.mapped_locator(ATTRIBUTE_RELATION_ID)?;
        let mut out = Vec::new();
        let schema = &self.attr_schema;
        scan_catalog(&self.dir, &mut clog, loc, schema, &mut warnings, |r| {
            if r.u32("attrelid") != oid || r.i16("attnum") <= 0 {
                return;
            }
            let atthasmissing = r.u8("atthasmissing") != 0;
            let missing_value = if atthasmissing {
                r.raw("attmissingval").and_then(missing_element)
            } else {
                None
            };
            out.push(AttrRow {
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
            });
        })?;
        out.sort_by_key(|a| a.attnum);
        Ok((out, warnings))
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

/// When `pg_proc` cannot be read: the built-in type's output function, or
/// the generic one its `typtype` implies.
fn infer_typoutput(oid: u32, r: &Row<'_, '_>) -> String {
    let builtin = rowcodec::pg::BuiltinCatalog::new();
    if let Some(t) = builtin.type_info(oid) {
        return t.typoutput.clone();
    }
    match r.u8("typtype") {
        b'e' => "enum_out".into(),
        b'd' => "domain_out".into(),
        b'c' => "record_out".into(),
        b'r' => "range_out".into(),
        b'm' => "multirange_out".into(),
        _ if r.u32("typelem") != 0 && r.i16("typlen") == -1 => "array_out".into(),
        _ => String::new(),
    }
}
