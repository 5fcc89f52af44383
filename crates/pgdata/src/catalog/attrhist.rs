//! Earlier versions of `pg_attribute` rows. `ALTER TABLE … ALTER COLUMN …
//! TYPE` updates the column's `pg_attribute` row (a new tuple version) and
//! rewrites the table into a new file; the old version stays on the catalog's
//! heap pages as a dead tuple until vacuum removes it, and tells how the rows
//! of the old file were laid out.

use super::layout::PG_ATTRIBUTE_BY_MAJOR;
use super::{AttrRow, Row, attr_row, pick};
use crate::error::BlockNo;
use crate::tuple::HeapTuple;

/// One version of a `pg_attribute` row, with the transactions that wrote
/// (`xmin`) and replaced or deleted it (`xmax`, 0 when none).
#[derive(Debug, Clone, PartialEq)]
pub struct AttrVersion {
    /// `t_xmin`.
    pub xmin: u32,
    /// `t_xmax` (0 = never replaced).
    pub xmax: u32,
    /// `attrelid`.
    pub attrelid: u32,
    /// The row (its `missing_value` is not read: `None`).
    pub row: AttrRow,
}

/// The [`AttrVersion`] of a whole `pg_attribute` tuple of major `major`
/// (live or dead, from a heap page); `None` when the bytes do not deform as
/// a `pg_attribute` row of a user column.
///
/// ```
/// assert_eq!(pgdata::catalog::attr_version(15, &[0u8; 10]), None);
/// ```
pub fn attr_version(major: u32, tuple: &[u8]) -> Option<AttrVersion> {
    let schema = pick(major, PG_ATTRIBUTE_BY_MAJOR).ok()?;
    let t = HeapTuple::parse(tuple, BlockNo(0), 0).ok()?;
    let r = Row::of(&schema, &t)?;
    // Every fixed column is NOT NULL: a missing one is not a row.
    r.raw("attisdropped")?;
    if r.i16("attnum") <= 0 {
        return None;
    }
    Some(AttrVersion {
        xmin: t.xmin(),
        xmax: t.xmax(),
        attrelid: r.u32("attrelid"),
        row: attr_row(&r, false, None),
    })
}
