//! Rescue wizard for a PostgreSQL data directory: pick a table → the
//! committed transactions that changed it (`pg xacts`) → pick one → its
//! dry-run impact exactly as `datam pg rescue --dry-run` reports it (counts,
//! every row with its old and new source, skipped and incomplete ones) →
//! write `undo.sql` + `report.json` to a chosen path (never inside the
//! evidence), or apply the undo to a connection after a confirmation that
//! names the target, the timeouts and the row counts.

use egui_extras::{Column, TableBuilder};

use crate::app::GuiState;
use crate::pg::backend::{DryTable, Planned};
use crate::pg::{PgOpened, Wizard};
use crate::screens::grid::ROW_HEIGHT_PX;
use crate::screens::pg_tables;

/// Draws the Rescue screen.
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    ui.heading("Rescue a mistaken transaction");
    let wake = st.wake.clone();
    let has_table = match st.opened.as_ref().and_then(|o| o.pg.as_ref()) {
        None => {
            ui.label("Open a PostgreSQL data directory first.");
            return;
        }
        Some(pg) => pg.wizard.table.is_some(),
    };
    if !has_table {
        ui.label("1. Pick the table the transaction damaged:");
        pg_tables::tables_ui(st, ui, false);
        return;
    }
    let Some(pg) = st.opened.as_mut().and_then(|o| o.pg.as_mut()) else {
        return;
    };
    egui::ScrollArea::vertical()
        .id_salt("rescue-scroll")
        .auto_shrink(false)
        .show(ui, |ui| {
            xacts_ui(ui, pg, &wake);
            let w = &mut pg.wizard;
            if w.xid.is_some() {
                ui.separator();
                dry_run_ui(ui, w);
            }
            if matches!(w.planned, Some(Ok(_))) {
                ui.separator();
                write_ui(ui, w, &wake);
                ui.separator();
                apply_ui(ui, w, &wake);
            }
        });
}

fn error(ui: &mut egui::Ui, e: &str) {
    ui.colored_label(ui.visuals().error_fg_color, e);
}

/// Step 2: the transactions that changed the table, each with a button.
fn xacts_ui(ui: &mut egui::Ui, pg: &mut PgOpened, wake: &crate::job::Waker) {
    let w = &pg.wizard;
    let Some((db, table)) = w.table.clone() else {
        return;
    };
    ui.horizontal(|ui| {
        ui.strong(format!("1. Table {db}:{table}"));
        if ui.button("Other table").clicked() {
            pg.wizard.reset();
        }
    });
    let Some((_, table)) = pg.wizard.table.clone() else {
        return;
    };
    ui.strong("2. Committed transactions that changed it (pg xacts):");
    let xacts = match &pg.wizard.xacts {
        None => {
            ui.spinner();
            return;
        }
        Some(Err(e)) => return error(ui, e),
        Some(Ok(x)) => x,
    };
    let want = format!("{db}:{table}");
    ui.label(format!("{} transactions", xacts.len()));
    let mut pick = None;
    egui::Grid::new("xacts").striped(true).show(ui, |ui| {
        for h in [
            "",
            "commit time",
            "commit LSN",
            "inserted",
            "updated",
            "deleted",
        ] {
            ui.strong(h);
        }
        ui.end_row();
        for x in xacts {
            let t = x.tables.iter().find(|t| t.table == want);
            let picked = pg.wizard.xid == Some(x.xid);
            if ui
                .add(egui::Button::selectable(picked, format!("xid {}", x.xid)))
                .clicked()
            {
                pick = Some(x.xid);
            }
            ui.label(&x.commit_time);
            ui.monospace(x.commit_lsn.to_string());
            for n in [
                t.map(|t| t.inserted),
                t.map(|t| t.updated),
                t.map(|t| t.deleted),
            ] {
                ui.label(n.map_or_else(String::new, |n| n.to_string()));
            }
            ui.end_row();
        }
    });
    if let Some(x) = pick {
        let path = pg.path.clone();
        pg.wizard.pick_xid(&path, x, wake);
    }
}

/// Step 3: the dry run of the picked transaction.
fn dry_run_ui(ui: &mut egui::Ui, w: &mut Wizard) {
    ui.strong(format!(
        "3. Dry run of xid {} (as datam pg rescue --dry-run):",
        w.xid.unwrap_or_default()
    ));
    let only = &mut w.only_not_restorable;
    let p: &Planned = match &w.planned {
        None => {
            ui.spinner();
            return;
        }
        Some(Err(e)) => return error(ui, e),
        Some(Ok(p)) => p,
    };
    for t in &p.targets {
        ui.label(t);
    }
    ui.checkbox(only, "only skipped and incomplete rows");
    for (i, t) in p.tables.iter().enumerate() {
        dry_table_ui(ui, i, t, *only);
    }
}

fn dry_table_ui(ui: &mut egui::Ui, i: usize, t: &DryTable, only: bool) {
    ui.label(egui::RichText::new(format!("table {}", t.line)).strong());
    for n in &t.notes {
        ui.colored_label(ui.visuals().warn_fg_color, n);
    }
    let rows: Vec<&[String; 6]> = t
        .rows
        .iter()
        .filter(|r| !only || r[5] != "restorable")
        .collect();
    ui.label(format!("{} of {} rows shown", rows.len(), t.rows.len()));
    let mut tb = TableBuilder::new(ui)
        .id_salt(("dry", i))
        .striped(true)
        .resizable(true)
        .max_scroll_height(220.0)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    for w in [70.0, 140.0, 90.0, 220.0, 220.0, 300.0] {
        tb = tb.column(Column::initial(w).clip(true).resizable(true));
    }
    tb.header(20.0, |mut h| {
        for n in ["kind", "key", "lsn", "old source", "new source", "status"] {
            h.col(|ui| {
                ui.strong(n);
            });
        }
    })
    .body(|body| {
        body.rows(ROW_HEIGHT_PX, rows.len(), |mut row| {
            let Some(r) = rows.get(row.index()) else {
                return;
            };
            for f in r.iter() {
                row.col(|ui| {
                    ui.add(egui::Label::new(f.as_str()).truncate());
                });
            }
        });
    });
}

/// Step 4a: write the undo files.
fn write_ui(ui: &mut egui::Ui, w: &mut Wizard, wake: &crate::job::Waker) {
    ui.strong("4. Write undo.sql and report.json (outside the evidence):");
    let mut go = false;
    ui.horizontal(|ui| {
        let l = ui.label("undo.sql path");
        ui.add(egui::TextEdit::singleline(&mut w.out_path).desired_width(420.0))
            .labelled_by(l.id);
        go = ui
            .add_enabled(
                !w.out_path.trim().is_empty(),
                egui::Button::new("Write undo.sql + report"),
            )
            .clicked();
    });
    if go {
        w.write(wake);
    }
    match &w.written {
        Some(Ok(files)) => {
            for f in files {
                ui.label(format!("wrote {}", f.display()));
            }
        }
        Some(Err(e)) => error(ui, e),
        None => {}
    }
}

/// Step 4b: apply the undo to a connection, behind a confirmation.
fn apply_ui(ui: &mut egui::Ui, w: &mut Wizard, wake: &crate::job::Waker) {
    ui.strong("5. Or apply the undo to a server (one transaction):");
    egui::Grid::new("apply").num_columns(2).show(ui, |ui| {
        for (name, field) in [
            ("Connection", &mut w.conninfo),
            ("lock_timeout", &mut w.lock_timeout),
            ("statement_timeout", &mut w.statement_timeout),
        ] {
            let l = ui.label(name);
            ui.add(egui::TextEdit::singleline(field).desired_width(420.0))
                .labelled_by(l.id);
            ui.end_row();
        }
    });
    if !w.confirming {
        if ui
            .add_enabled(!w.conninfo.trim().is_empty(), egui::Button::new("Apply…"))
            .clicked()
        {
            w.confirming = true;
        }
    } else {
        ui.group(|ui| {
            ui.label(w.confirmation_text());
            ui.horizontal(|ui| {
                if ui.button("Confirm apply").clicked() {
                    w.apply(wake);
                }
                if ui.button("Cancel").clicked() {
                    w.confirming = false;
                }
            });
        });
    }
    match &w.applied {
        Some(Ok(rows)) => {
            for (what, n) in rows {
                ui.label(format!("applied {what}: {n} row(s)"));
            }
        }
        Some(Err(e)) => error(ui, &format!("apply failed (rolled back): {e}")),
        None => {}
    }
}
