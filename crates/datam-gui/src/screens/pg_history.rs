//! PG History: every change of the row selected in the PG grid (those of
//! transactions that rolled back or never committed marked so)
//! (`datam pg history --key COL=VAL` for its table, the key column picked
//! here, the first by default), in commit order, with the row before and
//! after and the changed columns marked `● col: old → new`.

use datam_core::pg::dump::{Outcome, RowVersion};

use crate::app::GuiState;
use crate::pg::history::PgRowKey;

/// The heading of version `i`: `v1: update, xid 735, commit 0/3000110 at TIME [wal, heap] (changed: a, b)`.
pub fn version_heading(i: usize, v: &RowVersion) -> String {
    let changed = if v.changed.is_empty() {
        String::new()
    } else {
        format!(" (changed: {})", v.changed.join(", "))
    };
    let incomplete = v
        .incomplete
        .as_ref()
        .map_or_else(String::new, |w| format!(" INCOMPLETE: {w}"));
    // Versions read from the heap or carved have no commit record.
    let commit = match (v.outcome, &v.commit_lsn, &v.commit_time) {
        (Outcome::Aborted, ..) => match &v.abort_lsn {
            Some(lsn) => format!("ROLLED BACK at {lsn}"),
            None => "ROLLED BACK".to_string(),
        },
        (Outcome::InProgress, ..) => "NEVER COMMITTED (in progress at the end)".to_string(),
        (_, Some(lsn), Some(t)) => format!("commit {lsn} at {t}"),
        (_, Some(lsn), None) => format!("commit {lsn}"),
        _ => "no commit record".to_string(),
    };
    format!(
        "v{}: {}, xid {}, {commit} [{}]{changed}{incomplete}",
        i.saturating_add(1),
        v.op,
        v.xid,
        v.sources.join(", ")
    )
}

/// One column of a version as shown: `● col: old → new` when the update
/// changed it, else `col=value` of the row after (or before, for a delete).
pub fn cell_text(v: &RowVersion, column: &str) -> String {
    let get = |img: &Option<datam_core::pg::dump::Values>| {
        img.as_ref()
            .and_then(|m| m.get(column))
            .map(|x| x.as_deref().unwrap_or("NULL").to_string())
    };
    if v.changed.iter().any(|c| c == column) {
        let old = get(&v.old).unwrap_or_default();
        let new = get(&v.new).unwrap_or_default();
        return format!("● {column}: {old} → {new}");
    }
    let val = get(&v.new).or_else(|| get(&v.old)).unwrap_or_default();
    format!("{column}={val}")
}

fn version_ui(ui: &mut egui::Ui, i: usize, v: &RowVersion, columns: &[String]) {
    ui.strong(version_heading(i, v));
    let mark = ui.visuals().warn_fg_color.gamma_multiply(0.35);
    ui.horizontal_wrapped(|ui| {
        for c in columns {
            let t = egui::RichText::new(cell_text(v, c)).monospace();
            if v.changed.contains(c) {
                ui.label(t.background_color(mark))
                    .on_hover_text("changed in this version");
            } else {
                ui.label(t);
            }
        }
    });
    ui.add_space(4.0);
}

/// Draws the PG History screen (reads the selected row's versions on first show).
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    let wake = st.wake.clone();
    let Some(pg) = st.opened.as_mut().and_then(|o| o.pg.as_mut()) else {
        ui.label("Nothing is open.");
        return;
    };
    let Some(g) = &pg.grid else {
        ui.label("Pick a table on the Tables screen, then a row in the grid.");
        return;
    };
    let Some(row) = g.selected_row() else {
        ui.label("Select a row in the grid.");
        return;
    };
    let columns = g.columns.clone();
    let h = &mut pg.history;
    h.key_column = h.key_column.min(columns.len().saturating_sub(1));
    ui.horizontal(|ui| {
        ui.label("Key column");
        egui::ComboBox::from_id_salt("pg-history-key")
            .selected_text(columns.get(h.key_column).map_or("?", String::as_str))
            .show_ui(ui, |ui| {
                for (i, c) in columns.iter().enumerate() {
                    ui.selectable_value(&mut h.key_column, i, c);
                }
            });
    });
    let Some(column) = columns.get(h.key_column) else {
        ui.label("The table's columns are not known yet.");
        return;
    };
    let Some(value) = row.values.get(h.key_column).and_then(|v| v.as_deref()) else {
        ui.label(format!(
            "{column} is NULL in this row: pick another key column."
        ));
        return;
    };
    let key = PgRowKey {
        db: g.db.clone(),
        table: g.table.clone(),
        column: column.clone(),
        value: value.to_string(),
    };
    ui.heading(format!(
        "History of {}.{} where {column} = {value}",
        g.db, g.table
    ));
    ui.weak("changes in the WAL and versions in the heap (pg history), those of transactions that did not commit marked; ● marks the columns each update changed");
    h.load(pg.path.clone(), key, &wake);
    super::versions_ui(ui, "pg-history", h.versions.as_ref(), |ui, i, v| {
        version_ui(ui, i, v, &columns);
    });
}
