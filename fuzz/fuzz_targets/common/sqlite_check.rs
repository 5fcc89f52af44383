//! Properties every recovered SQLite row must have (shared by the SQLite
//! fuzz targets): one value per column of its table, an offset inside a
//! page, lost columns (a partial row) only among its table's and `NULL`.

use sqlite_pages::db::Db;
use rowcodec::sqlite::OwnedValue;
use sqlite_pages::scan::RecoveredRow;

pub fn check_row(db: &Db<'_>, r: &RecoveredRow) {
    if let Some(t) = r.table.and_then(|t| db.tables.get(t)) {
        assert_eq!(r.values.len(), t.columns.len());
        for (i, v) in r.values.iter().enumerate() {
            let bit = u32::try_from(i).ok().and_then(|i| 1u64.checked_shl(i));
            if bit.is_some_and(|b| r.lost & b != 0) {
                assert_eq!(*v, OwnedValue::Null, "a lost column has a value");
            }
        }
        let known = u32::try_from(t.columns.len())
            .ok()
            .and_then(|n| 1u64.checked_shl(n))
            .map_or(u64::MAX, |b| b - 1);
        assert_eq!(r.lost & !known, 0, "lost bits past the table's columns");
    }
    assert!(r.offset < db.page_size as usize);
}
