//! The tuple layouts of the catalogs DataM bootstraps, per major: what
//! each major's own `pg_attribute` says about them (queried from real 13–18
//! servers), as `name:attlen:attalign` specs.

use crate::error::{Error, Result};
use crate::tuple::AttrLayout;

pub(super) struct Schema {
    pub(super) names: Vec<&'static str>,
    pub(super) layouts: Vec<AttrLayout>,
}

impl Schema {
    pub(super) fn parse(spec: &'static str) -> Self {
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
    pub(super) fn idx(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| *n == name)
    }
}

pub(super) const PG_CLASS_13: &str = "oid:4:i relname:64:c relnamespace:4:i reltype:4:i reloftype:4:i relowner:4:i relam:4:i relfilenode:4:i reltablespace:4:i relpages:4:i reltuples:4:i relallvisible:4:i reltoastrelid:4:i relhasindex:1:c relisshared:1:c relpersistence:1:c relkind:1:c relnatts:2:s";
pub(super) const PG_CLASS_18: &str = "oid:4:i relname:64:c relnamespace:4:i reltype:4:i reloftype:4:i relowner:4:i relam:4:i relfilenode:4:i reltablespace:4:i relpages:4:i reltuples:4:i relallvisible:4:i relallfrozen:4:i reltoastrelid:4:i relhasindex:1:c relisshared:1:c relpersistence:1:c relkind:1:c relnatts:2:s";
pub(super) const PG_ATTRIBUTE_13: &str = "attrelid:4:i attname:64:c atttypid:4:i attstattarget:4:i attlen:2:s attnum:2:s attndims:4:i attcacheoff:4:i atttypmod:4:i attbyval:1:c attstorage:1:c attalign:1:c attnotnull:1:c atthasdef:1:c atthasmissing:1:c attidentity:1:c attgenerated:1:c attisdropped:1:c attislocal:1:c attinhcount:4:i attcollation:4:i attacl:-1:i attoptions:-1:i attfdwoptions:-1:i attmissingval:-1:d";
pub(super) const PG_ATTRIBUTE_14: &str = "attrelid:4:i attname:64:c atttypid:4:i attstattarget:4:i attlen:2:s attnum:2:s attndims:4:i attcacheoff:4:i atttypmod:4:i attbyval:1:c attalign:1:c attstorage:1:c attcompression:1:c attnotnull:1:c atthasdef:1:c atthasmissing:1:c attidentity:1:c attgenerated:1:c attisdropped:1:c attislocal:1:c attinhcount:4:i attcollation:4:i attacl:-1:i attoptions:-1:i attfdwoptions:-1:i attmissingval:-1:d";
pub(super) const PG_ATTRIBUTE_16: &str = "attrelid:4:i attname:64:c atttypid:4:i attlen:2:s attnum:2:s attcacheoff:4:i atttypmod:4:i attndims:2:s attbyval:1:c attalign:1:c attstorage:1:c attcompression:1:c attnotnull:1:c atthasdef:1:c atthasmissing:1:c attidentity:1:c attgenerated:1:c attisdropped:1:c attislocal:1:c attinhcount:2:s attstattarget:2:s attcollation:4:i attacl:-1:d attoptions:-1:i attfdwoptions:-1:i attmissingval:-1:d";
pub(super) const PG_ATTRIBUTE_17: &str = "attrelid:4:i attname:64:c atttypid:4:i attlen:2:s attnum:2:s attcacheoff:4:i atttypmod:4:i attndims:2:s attbyval:1:c attalign:1:c attstorage:1:c attcompression:1:c attnotnull:1:c atthasdef:1:c atthasmissing:1:c attidentity:1:c attgenerated:1:c attisdropped:1:c attislocal:1:c attinhcount:2:s attcollation:4:i attstattarget:2:s attacl:-1:d attoptions:-1:i attfdwoptions:-1:i attmissingval:-1:d";
/// `pg_attribute`'s layout by the first major that has it.
pub(super) const PG_ATTRIBUTE_BY_MAJOR: &[(u32, &str)] = &[
    (13, PG_ATTRIBUTE_13),
    (14, PG_ATTRIBUTE_14),
    (16, PG_ATTRIBUTE_16),
    (17, PG_ATTRIBUTE_17),
    (18, PG_ATTRIBUTE_18),
];
pub(super) const PG_ATTRIBUTE_18: &str = "attrelid:4:i attname:64:c atttypid:4:i attlen:2:s attnum:2:s atttypmod:4:i attndims:2:s attbyval:1:c attalign:1:c attstorage:1:c attcompression:1:c attnotnull:1:c atthasdef:1:c atthasmissing:1:c attidentity:1:c attgenerated:1:c attisdropped:1:c attislocal:1:c attinhcount:2:s attcollation:4:i attstattarget:2:s attacl:-1:d attoptions:-1:i attfdwoptions:-1:i attmissingval:-1:d";
pub(super) const PG_TYPE_13: &str = "oid:4:i typname:64:c typnamespace:4:i typowner:4:i typlen:2:s typbyval:1:c typtype:1:c typcategory:1:c typispreferred:1:c typisdefined:1:c typdelim:1:c typrelid:4:i typelem:4:i typarray:4:i typinput:4:i typoutput:4:i typreceive:4:i typsend:4:i typmodin:4:i typmodout:4:i typanalyze:4:i typalign:1:c typstorage:1:c typnotnull:1:c typbasetype:4:i";
pub(super) const PG_TYPE_14: &str = "oid:4:i typname:64:c typnamespace:4:i typowner:4:i typlen:2:s typbyval:1:c typtype:1:c typcategory:1:c typispreferred:1:c typisdefined:1:c typdelim:1:c typrelid:4:i typsubscript:4:i typelem:4:i typarray:4:i typinput:4:i typoutput:4:i typreceive:4:i typsend:4:i typmodin:4:i typmodout:4:i typanalyze:4:i typalign:1:c typstorage:1:c typnotnull:1:c typbasetype:4:i";
pub(super) const PG_DATABASE_13: &str = "oid:4:i datname:64:c datdba:4:i encoding:4:i datcollate:64:c datctype:64:c datistemplate:1:c datallowconn:1:c datconnlimit:4:i datlastsysoid:4:i datfrozenxid:4:i datminmxid:4:i dattablespace:4:i";
pub(super) const PG_DATABASE_15: &str = "oid:4:i datname:64:c datdba:4:i encoding:4:i datlocprovider:1:c datistemplate:1:c datallowconn:1:c datconnlimit:4:i datfrozenxid:4:i datminmxid:4:i dattablespace:4:i";
pub(super) const PG_DATABASE_17: &str = "oid:4:i datname:64:c datdba:4:i encoding:4:i datlocprovider:1:c datistemplate:1:c datallowconn:1:c dathasloginevt:1:c datconnlimit:4:i datfrozenxid:4:i datminmxid:4:i dattablespace:4:i";
pub(super) const PG_NAMESPACE: &str = "oid:4:i nspname:64:c";
pub(super) const PG_PROC: &str = "oid:4:i proname:64:c";
/// `pg_proc` up to `proargtypes` (the same 13–18).
pub(super) const PG_PROC_ARGS: &str = "oid:4:i proname:64:c pronamespace:4:i proowner:4:i prolang:4:i procost:4:i prorows:4:i provariadic:4:i prosupport:4:i prokind:1:c prosecdef:1:c proleakproof:1:c proisstrict:1:c proretset:1:c provolatile:1:c proparallel:1:c pronargs:2:s pronargdefaults:2:s prorettype:4:i proargtypes:-1:i";
pub(super) const PG_OPERATOR: &str = "oid:4:i oprname:64:c oprnamespace:4:i oprowner:4:i oprkind:1:c oprcanmerge:1:c oprcanhash:1:c oprleft:4:i oprright:4:i";
pub(super) const PG_AUTHID: &str = "oid:4:i rolname:64:c";
/// `pg_ts_config` / `pg_ts_dict`: oid, name, namespace.
pub(super) const PG_TS_CONFIG: &str = "oid:4:i cfgname:64:c cfgnamespace:4:i";
pub(super) const PG_TS_DICT: &str = "oid:4:i dictname:64:c dictnamespace:4:i";
pub(super) const PG_COLLATION: &str = "oid:4:i collname:64:c collnamespace:4:i collowner:4:i collprovider:1:c collisdeterministic:1:c collencoding:4:i";
pub(super) const PG_RANGE_13: &str = "rngtypid:4:i rngsubtype:4:i";
pub(super) const PG_RANGE_14: &str = "rngtypid:4:i rngsubtype:4:i rngmultitypid:4:i";
// pg_index up to indkey (the int2vector is never null); 15 added
// indnullsnotdistinct after indisunique. indexprs/indpred are read from the
// null bitmap only (a partial or expression index cannot address rows).
pub(super) const PG_INDEX_13: &str = "indexrelid:4:i indrelid:4:i indnatts:2:s indnkeyatts:2:s indisunique:1:c indisprimary:1:c indisexclusion:1:c indimmediate:1:c indisclustered:1:c indisvalid:1:c indcheckxmin:1:c indisready:1:c indislive:1:c indisreplident:1:c indkey:-1:i indcollation:-1:i indclass:-1:i indoption:-1:i indexprs:-1:i indpred:-1:i";
pub(super) const PG_INDEX_15: &str = "indexrelid:4:i indrelid:4:i indnatts:2:s indnkeyatts:2:s indisunique:1:c indnullsnotdistinct:1:c indisprimary:1:c indisexclusion:1:c indimmediate:1:c indisclustered:1:c indisvalid:1:c indcheckxmin:1:c indisready:1:c indislive:1:c indisreplident:1:c indkey:-1:i indcollation:-1:i indclass:-1:i indoption:-1:i indexprs:-1:i indpred:-1:i";
pub(super) const PG_ENUM: &str = "oid:4:i enumtypid:4:i enumsortorder:4:i enumlabel:64:c";

/// TOAST table columns: chunk_id oid, chunk_seq int4, chunk_data bytea.
pub const TOAST_LAYOUT: [AttrLayout; 3] = [
    AttrLayout::new(4, b'i'),
    AttrLayout::new(4, b'i'),
    AttrLayout::new(-1, b'i'),
];

pub(super) fn pick(major: u32, by: &[(u32, &'static str)]) -> Result<Schema> {
    by.iter()
        .rev()
        .find(|(m, _)| major >= *m)
        .map(|(_, s)| Schema::parse(s))
        .filter(|_| crate::datadir::SUPPORTED_MAJORS.contains(&major))
        .ok_or(Error::UnsupportedVersion { major })
}
