//! Overview: what was recognised (the `inspect` facts, SHA-256), the scan's
//! progress, and the diagnostics.

use crate::app::{GuiState, Screen};

/// Draws the Overview screen.
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    let Some(o) = &st.opened else {
        ui.label("Nothing is open.");
        return;
    };
    ui.heading(format!("Overview of {}", o.path.display()));
    match &o.facts {
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("identifying and hashing…");
            });
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, format!("not recognised: {e}"));
        }
        Some(Ok(f)) => {
            ui.label(format!("kind: {}", f.kind.as_deref().unwrap_or("unknown")));
            egui::Grid::new("facts")
                .striped(true)
                .num_columns(2)
                .show(ui, |ui| {
                    for (k, v) in &f.facts {
                        ui.label(k);
                        ui.monospace(v);
                        ui.end_row();
                    }
                });
            for e in &f.errors {
                ui.colored_label(ui.visuals().warn_fg_color, e);
            }
        }
    }
    ui.add_space(8.0);
    let mut go_tables = false;
    let mut go_snapshots = false;
    if let Some(e) = &o.salvage_error {
        ui.colored_label(ui.visuals().error_fg_color, format!("salvage failed: {e}"));
    } else if let Some(pg) = o.pg() {
        match &pg.tables {
            Some(Ok(t)) => {
                ui.label(format!("PostgreSQL data directory: {} tables", t.len()));
                go_tables = ui.button("Show tables").clicked();
            }
            Some(Err(e)) => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("pg tables failed: {e}"),
                );
            }
            None => {
                ui.spinner();
            }
        }
    } else if let Some(Ok(l)) = o.snapshots.list.as_ref().filter(|_| o.snapshots.is_store()) {
        ui.label(format!("Snapshot store: {} snapshots", l.len()));
        go_snapshots = ui.button("Show snapshots").clicked();
    } else if o.not_sqlite && o.pg.as_ref().is_some_and(|p| p.not_pg) && o.snapshots.not_store {
        ui.weak("No row browser for this kind of evidence yet (SQLite databases only).");
    } else if o.salvage_job.is_some() || !o.store.tables.is_empty() {
        ui.label(format!(
            "{} tables, {} rows recovered so far{}",
            o.store.tables.len(),
            o.store.rows.len(),
            if o.scan_done { " (scan finished)" } else { "" }
        ));
        go_tables = ui.button("Show tables").clicked();
    }
    if !o.diagnostics.is_empty() {
        ui.add_space(8.0);
        ui.strong(format!("{} diagnostics", o.diagnostics.len()));
        egui::ScrollArea::vertical()
            .max_height(200.0)
            .show(ui, |ui| {
                for d in &o.diagnostics {
                    ui.label(d.to_string());
                }
            });
    }
    if go_tables {
        st.screen = Screen::Tables;
    }
    if go_snapshots {
        st.screen = Screen::Snapshots;
    }
}
