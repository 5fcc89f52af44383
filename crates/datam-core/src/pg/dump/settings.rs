//! Server settings that change how values print, read from the data
//! directory's configuration files: `lc_monetary` for `money`.

use std::path::Path;

use pgdata::catalog::Types;
use rowcodec::pg::TypeCatalog;

use super::encode::Col;
use crate::job::{Diagnostic, JobCtx};

/// The last `lc_monetary = '...'` of `postgresql.conf` and then
/// `postgresql.auto.conf` (later settings win, as the server reads them),
/// with the file it came from.
pub(super) fn lc_monetary(pgdata: &Path) -> Option<(String, &'static str)> {
    let mut found = None;
    for file in ["postgresql.conf", "postgresql.auto.conf"] {
        let Ok(text) = std::fs::read_to_string(pgdata.join(file)) else {
            continue;
        };
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            let Some(rest) = line.strip_prefix("lc_monetary") else {
                continue;
            };
            let value = rest.trim_start().trim_start_matches('=').trim();
            let value = value.trim_matches('\'').trim_matches('"');
            found = Some((value.to_string(), file));
        }
    }
    found
}

/// Locales whose monetary format is the one DataM prints (`$`, `,`
/// thousands, `.` and two decimals, `-$` for negatives).
fn prints_like_c(locale: &str) -> bool {
    matches!(locale, "C" | "POSIX" | "C.UTF-8" | "C.utf8") || locale.starts_with("en_US")
}

/// Whether `oid` is `money`, a domain over it or an array of it.
fn is_money(types: &Types, oid: u32) -> bool {
    let mut oid = oid;
    for _ in 0..64 {
        let Some(t) = types.type_info(oid) else {
            return false;
        };
        if t.typoutput == "cash_out" {
            return true;
        }
        oid = if t.typbasetype != 0 {
            t.typbasetype
        } else if t.typelem != 0 && t.typlen == -1 {
            t.typelem
        } else {
            return false;
        };
    }
    false
}

/// Warns when the table has `money` columns and the cluster's
/// `lc_monetary` prints money differently from `C`, or cannot be known.
pub(super) fn check_money(pgdata: &Path, cols: &[Col], types: &Types, job: &JobCtx) {
    let Some(col) = cols.iter().find(|c| is_money(types, c.type_oid)) else {
        return;
    };
    let msg = match lc_monetary(pgdata) {
        Some((l, _)) if prints_like_c(&l) => return,
        Some((l, file)) => format!(
            "{file} sets lc_monetary = '{l}', whose currency format DataM does not know; \
             money values (column {}) are printed as lc_monetary = 'C' prints them",
            col.name
        ),
        None => format!(
            "lc_monetary cannot be known (set in neither postgresql.conf nor \
             postgresql.auto.conf); money values (column {}) are printed as \
             lc_monetary = 'C' prints them",
            col.name
        ),
    };
    job.diagnostic(Diagnostic::warning("lc-monetary", msg));
}

#[cfg(test)]
mod tests {
    #[test]
    fn last_setting_wins() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("postgresql.conf"),
            "#lc_monetary = 'x'\nlc_monetary = 'C'\t# money\nlc_monetary='de_DE.UTF-8'\n",
        )
        .unwrap();
        assert_eq!(
            super::lc_monetary(d.path()),
            Some(("de_DE.UTF-8".to_string(), "postgresql.conf"))
        );
        std::fs::write(d.path().join("postgresql.auto.conf"), "lc_monetary = 'C'\n").unwrap();
        assert_eq!(
            super::lc_monetary(d.path()),
            Some(("C".to_string(), "postgresql.auto.conf"))
        );
        assert!(super::prints_like_c("en_US.UTF-8") && !super::prints_like_c("de_DE"));
    }
}
