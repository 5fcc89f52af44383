//! The grids' Export row (SQLite and PostgreSQL): a path, a format, and a
//! button that writes the rows of the current view (filter and sort
//! applied) on a background job.

use crate::app::Opened;
use crate::export::{ExportFormat, ExportJob, ExportRows};
use crate::job::Waker;

fn start(o: &mut Opened, wake: &Waker) {
    let Some(view) = &o.view else {
        return;
    };
    let side = |ext: &str| {
        let mut p = o.path.clone().into_os_string();
        p.push(ext);
        std::path::PathBuf::from(p)
    };
    let job = ExportJob {
        table: o.store.table_name(view.table).to_string(),
        columns: o.store.columns(view.table),
        rows: ExportRows::Sqlite {
            rows: o.store.rows.clone(),
            order: view.rows.clone(),
        },
        format: o.export.format,
        path: o.export.path.trim().into(),
        evidence: vec![o.path.clone(), side("-wal"), side("-journal")],
        evidence_dirs: Vec::new(),
    };
    o.export.start(job, wake);
}

/// Starts the export of the PostgreSQL grid's view (its rows copied, in
/// view order).
fn start_pg(o: &mut Opened, wake: &Waker) {
    let Some(g) = o.pg.as_ref().and_then(|p| p.grid.as_ref()) else {
        return;
    };
    let rows = g
        .view
        .iter()
        .filter_map(|&i| g.rows.get(i as usize).cloned())
        .collect();
    let job = ExportJob {
        table: g.table.clone(),
        columns: g.columns.clone(),
        rows: ExportRows::Pg {
            rows,
            files: g.files.clone(),
        },
        format: o.export.format,
        path: o.export.path.trim().into(),
        evidence: vec![o.path.clone()],
        evidence_dirs: vec![o.path.clone()],
    };
    o.export.start(job, wake);
}

/// Draws the Export row of the PostgreSQL grid.
pub fn pg_ui(ui: &mut egui::Ui, o: &mut Opened, wake: &Waker) {
    let n =
        o.pg.as_ref()
            .and_then(|p| p.grid.as_ref())
            .map_or(0, |g| g.view.len());
    if panel(ui, &mut o.export, n) {
        start_pg(o, wake);
    }
}

/// Draws the Export row of the grid.
pub fn ui(ui: &mut egui::Ui, o: &mut Opened, wake: &Waker) {
    let n = o.view.as_ref().map_or(0, |v| v.rows.len());
    if panel(ui, &mut o.export, n) {
        start(o, wake);
    }
}

/// The Export row for `n` rows; whether its button was clicked.
fn panel(ui: &mut egui::Ui, e: &mut crate::export::Export, n: usize) -> bool {
    let mut go = false;
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Export path");
        ui.add(egui::TextEdit::singleline(&mut e.path).desired_width(300.0))
            .labelled_by(l.id);
        for (f, name) in [
            (ExportFormat::Csv, "CSV"),
            (ExportFormat::Jsonl, "JSONL"),
            (ExportFormat::Sql, "SQL"),
        ] {
            ui.radio_value(&mut e.format, f, name);
        }
        go = ui
            .add_enabled(
                e.is_idle() && !e.path.trim().is_empty(),
                egui::Button::new(format!("Export {n} rows")),
            )
            .clicked();
        if !e.is_idle() {
            let f = e.fraction().unwrap_or(0.0);
            ui.add(
                egui::ProgressBar::new(f)
                    .desired_width(120.0)
                    .show_percentage(),
            );
            if ui.button("Cancel export").clicked() {
                e.cancel();
            }
        }
        match &e.result {
            Some(Ok(w)) if w.cancelled => {
                ui.label(format!(
                    "export cancelled after {} rows; the partial file was removed",
                    w.rows
                ));
            }
            Some(Ok(w)) => {
                ui.label(format!("exported {} rows to {}", w.rows, e.path.trim()));
            }
            Some(Err(err)) => {
                ui.colored_label(ui.visuals().error_fg_color, err);
            }
            None => {}
        }
    });
    go
}
