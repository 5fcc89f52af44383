//! Properties every recovered SQLite row must have (shared by the SQLite
//! fuzz targets): one value per column of its table, an offset inside a
//! page.

use sqlite_pages::db::Db;
use sqlite_pages::scan::RecoveredRow;

pub fn check_row(db: &Db<'_>, r: &RecoveredRow) {
    if let Some(t) = r.table.and_then(|t| db.tables.get(t)) {
        assert_eq!(r.values.len(), t.columns.len());
    }
    assert!(r.offset < db.page_size as usize);
}
