//! The columns an earlier file of the table was written with. `ALTER TABLE
//! … ALTER COLUMN … TYPE` rewrites the table into a new file and updates the
//! column's `pg_attribute` row; the replaced version (its `xmax` the ALTER's
//! transaction) stays on `pg_attribute`'s heap pages as a dead tuple until
//! vacuum removes it. The rows of the old file are decoded with the version
//! each column had just before the rewrite that ended the file
//! ([`crate::files::ClassHistory::replaced_by`]); a column whose version then
//! is not on the pages is unknown, and rows that store it are refused.

use std::collections::HashMap;

use pgdata::catalog::{AttrRow, AttrVersion};

use crate::collect::RelKey;
use crate::files::{ClassHistory, TableRels, precedes};

/// The columns of one earlier file.
#[derive(Debug, Clone, PartialEq)]
pub struct OldColumns {
    /// All attributes (dropped ones included), attnum order, as the file
    /// was written.
    pub attrs: Vec<AttrRow>,
    /// Attnums whose layout then is unknown (the version live before the
    /// rewrite is gone from `pg_attribute`).
    pub unknown: Vec<i16>,
}

impl OldColumns {
    /// The columns before transaction `rewrite` of a table whose current
    /// attributes are `current`, from `versions` (that table's
    /// `pg_attribute` tuple versions, live and dead).
    pub fn before(current: &[AttrRow], versions: &[AttrVersion], rewrite: u32) -> Self {
        let mut attrs = Vec::with_capacity(current.len());
        let mut unknown = Vec::new();
        for cur in current {
            let then = versions
                .iter()
                .filter(|v| v.row.attnum == cur.attnum)
                .filter(|v| {
                    precedes(v.xmin, rewrite) && (v.xmax == 0 || !precedes(v.xmax, rewrite))
                })
                .reduce(|a, b| if precedes(a.xmin, b.xmin) { b } else { a });
            match then {
                Some(v) => attrs.push(AttrRow {
                    atttypid: v.row.atttypid,
                    attlen: v.row.attlen,
                    attalign: v.row.attalign,
                    attbyval: v.row.attbyval,
                    atttypmod: v.row.atttypmod,
                    attstorage: v.row.attstorage,
                    attisdropped: v.row.attisdropped,
                    missing_value: if v.row.atttypid == cur.atttypid {
                        cur.missing_value.clone()
                    } else {
                        None
                    },
                    atthasmissing: cur.atthasmissing && v.row.atttypid == cur.atttypid,
                    ..cur.clone()
                }),
                None => {
                    unknown.push(cur.attnum);
                    attrs.push(cur.clone());
                }
            }
        }
        Self { attrs, unknown }
    }

    /// Whether the file's layout differs from `current` (a column's type,
    /// length, alignment or typmod, or an unknown column).
    pub fn differs_from(&self, current: &[AttrRow]) -> bool {
        !self.unknown.is_empty()
            || self.attrs.iter().zip(current).any(|(a, c)| {
                (
                    a.atttypid,
                    a.attlen,
                    a.attalign,
                    a.attbyval,
                    a.atttypmod,
                    a.attisdropped,
                ) != (
                    c.atttypid,
                    c.attlen,
                    c.attalign,
                    c.attbyval,
                    c.atttypmod,
                    c.attisdropped,
                )
            })
    }
}

/// The columns of each earlier file of `rels` (table `oid`, whose current
/// attributes are `current`) that was written with other columns, from
/// `pg_attribute` tuple versions `versions` (every table's; those of `oid`
/// are used) and the rewrites `hist` shows. A file whose ending rewrite is
/// unknown keeps the current columns.
pub fn old_columns(
    rels: &TableRels,
    hist: &ClassHistory,
    oid: u32,
    current: &[AttrRow],
    versions: &[AttrVersion],
) -> HashMap<RelKey, OldColumns> {
    let mine: Vec<AttrVersion> = versions
        .iter()
        .filter(|v| v.attrelid == oid)
        .cloned()
        .collect();
    let mut out = HashMap::new();
    for &rel in &rels.old_main {
        let Some(x) = hist.replaced_by(oid, rel.rel_number) else {
            continue;
        };
        let cols = OldColumns::before(current, &mine, x);
        if cols.differs_from(current) {
            out.insert(rel, cols);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(attnum: i16, atttypid: u32, attlen: i16) -> AttrRow {
        AttrRow {
            attname: format!("c{attnum}"),
            atttypid,
            attlen,
            attnum,
            atttypmod: -1,
            attbyval: attlen > 0,
            attalign: b'i',
            attstorage: b'p',
            attcompression: 0,
            attisdropped: false,
            attgenerated: 0,
            atthasmissing: false,
            missing_value: None,
        }
    }

    fn version(xmin: u32, xmax: u32, row: AttrRow) -> AttrVersion {
        AttrVersion {
            xmin,
            xmax,
            attrelid: 1,
            row,
        }
    }

    /// Two rewrites: column 1 int → bigint at 775, column 2 int → numeric
    /// at 776; the file ended by 775 had both ints, the one ended by 776
    /// had bigint and int. A column whose version then is gone is unknown.
    #[test]
    fn columns_before_each_rewrite() {
        let current = vec![attr(1, 20, 8), attr(2, 1700, -1)];
        let versions = vec![
            version(730, 775, attr(1, 23, 4)),
            version(775, 0, attr(1, 20, 8)),
            version(730, 776, attr(2, 23, 4)),
            version(776, 0, attr(2, 1700, -1)),
        ];
        let first = OldColumns::before(&current, &versions, 775);
        assert_eq!(
            first.attrs.iter().map(|a| a.atttypid).collect::<Vec<_>>(),
            [23, 23]
        );
        let second = OldColumns::before(&current, &versions, 776);
        assert_eq!(
            second.attrs.iter().map(|a| a.atttypid).collect::<Vec<_>>(),
            [20, 23]
        );
        assert!(first.differs_from(&current) && second.differs_from(&current));
        assert!(!OldColumns::before(&current, &versions, 800).differs_from(&current));
        let gone = OldColumns::before(&current, &versions[1..], 775);
        assert_eq!(gone.unknown, [1]);
    }

    #[test]
    fn xid_order_wraps() {
        assert!(precedes(730, 775));
        assert!(!precedes(775, 775));
        assert!(precedes(u32::MAX - 5, 10));
        assert!(precedes(2, 3));
    }
}
