//! Snapshots: the timeline of a snapshot store; pick A and B and see the
//! pages changed per file and the SQLite rows added, removed and changed,
//! with the changed cells marked.

use egui_extras::{Column, TableBuilder};
use rowcodec::sqlite::OwnedValue;
use rowcodec::sqlite::encode::sql_literal;
use snapshot_cow::diff::{Change, RowChange, TableDiff};

use crate::app::GuiState;
use crate::screens::grid::ROW_HEIGHT_PX;
use crate::snapshots::{SnapRow, Snapshots};

/// `table T: N added, N removed, N changed`.
pub fn table_line(file: &str, t: &TableDiff) -> String {
    let n = |c| t.changes.iter().filter(|r| r.change == c).count();
    format!(
        "{file} table {}: {} added, {} removed, {} changed",
        t.table,
        n(Change::Added),
        n(Change::Removed),
        n(Change::Changed)
    )
}

fn timeline_ui(ui: &mut egui::Ui, s: &mut Snapshots, rows: &[SnapRow]) {
    egui::Grid::new("timeline").striped(true).show(ui, |ui| {
        for h in ["A", "B", "id", "time", "files", "bytes", "note"] {
            ui.strong(h);
        }
        ui.end_row();
        for r in rows {
            ui.radio_value(&mut s.a, Some(r.id), format!("A = {}", r.id));
            ui.radio_value(&mut s.b, Some(r.id), format!("B = {}", r.id));
            ui.label(r.id.to_string());
            match &r.damaged {
                Some(e) => {
                    ui.colored_label(ui.visuals().error_fg_color, format!("DAMAGED: {e}"));
                }
                None => {
                    ui.label(&r.time);
                    ui.label(r.files.to_string());
                    ui.label(r.bytes.to_string());
                    ui.label(&r.note);
                }
            }
            ui.end_row();
        }
    });
}

fn lit(v: Option<&OwnedValue>) -> String {
    v.map_or_else(String::new, sql_literal)
}

/// The cells of one changed row: the mark, the key, then each column
/// (`before → after` and marked with ● where the value changed).
fn change_cells(r: &RowChange, n_cols: usize) -> Vec<String> {
    let mark = match r.change {
        Change::Added => "+",
        Change::Removed => "-",
        Change::Changed => "~",
    };
    let key: Vec<String> = r.key.iter().map(sql_literal).collect();
    let mut out = vec![mark.to_string(), key.join(", ")];
    for c in 0..n_cols {
        let b = r.before.as_ref().and_then(|v| v.get(c));
        let a = r.after.as_ref().and_then(|v| v.get(c));
        out.push(match (b, a) {
            (Some(b), Some(a)) if b != a => format!("● {} → {}", lit(Some(b)), lit(Some(a))),
            (_, Some(a)) => lit(Some(a)),
            (b, None) => lit(b),
        });
    }
    out
}

fn table_diff_ui(ui: &mut egui::Ui, i: usize, file: &str, t: &TableDiff) {
    ui.strong(table_line(file, t));
    let mark = ui.visuals().warn_fg_color.gamma_multiply(0.35);
    let mut tb = TableBuilder::new(ui)
        .id_salt(("snapdiff", i))
        .striped(true)
        .resizable(true)
        .max_scroll_height(200.0)
        .column(Column::exact(16.0))
        .column(Column::initial(80.0).clip(true));
    for _ in &t.columns {
        tb = tb.column(Column::initial(150.0).clip(true).resizable(true));
    }
    tb.header(20.0, |mut h| {
        for name in ["", "key"]
            .into_iter()
            .chain(t.columns.iter().map(String::as_str))
        {
            h.col(|ui| {
                ui.strong(name);
            });
        }
    })
    .body(|body| {
        body.rows(ROW_HEIGHT_PX, t.changes.len(), |mut row| {
            let Some(r) = t.changes.get(row.index()) else {
                return;
            };
            for text in change_cells(r, t.columns.len()) {
                row.col(|ui| {
                    let rt = egui::RichText::new(&text);
                    let rt = if text.starts_with('●') {
                        rt.background_color(mark)
                    } else {
                        rt
                    };
                    ui.add(egui::Label::new(rt).truncate());
                });
            }
        });
    });
    ui.add_space(6.0);
}

fn diff_ui(ui: &mut egui::Ui, s: &Snapshots) {
    let d = match &s.diff {
        None => return,
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
            return;
        }
        Some(Ok(d)) => d,
    };
    for (file, changed, added, removed) in &d.pages {
        ui.label(format!(
            "{file}: {changed} pages changed, {added} added, {removed} removed"
        ));
    }
    for (i, (file, t)) in d.tables.iter().enumerate() {
        table_diff_ui(ui, i, file, t);
    }
}

/// Draws the Snapshots screen.
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    let wake = st.wake.clone();
    let Some(o) = st.opened.as_mut() else {
        ui.label("Open a snapshot store first.");
        return;
    };
    ui.heading("Snapshots");
    let path = o.path.clone();
    let s = &mut o.snapshots;
    let rows = match &s.list {
        None => {
            ui.spinner();
            return;
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
            return;
        }
        Some(Ok(r)) => r.clone(),
    };
    ui.label(format!("{} snapshots", rows.len()));
    egui::ScrollArea::vertical()
        .id_salt("snapshots")
        .auto_shrink(false)
        .show(ui, |ui| {
            timeline_ui(ui, s, &rows);
            let ready = s.a.is_some() && s.b.is_some() && s.is_idle();
            if ui
                .add_enabled(ready, egui::Button::new("Diff A → B"))
                .clicked()
            {
                s.start_diff(path, &wake);
            }
            if !s.is_idle() {
                ui.spinner();
            }
            diff_ui(ui, s);
        });
}
