//! Grid of a PostgreSQL table: its live rows and the dead tuples still on
//! its pages (`pg dump` and `pg dump --dead`), each with its provenance
//! (block, line pointer, xmin, xmax), virtualized like the SQLite grid,
//! with the same Export row for the current view.

use egui_extras::{Column, TableBuilder};

use crate::app::GuiState;
use crate::pg::PgGrid;
use crate::pg::grid::PgSort;
use crate::screens::grid::{ROW_HEIGHT_PX, header_button};

const META: [(&str, PgSort); 5] = [
    ("status", PgSort::Status),
    ("block", PgSort::Ctid),
    ("lp", PgSort::Ctid),
    ("xmin", PgSort::Xmin),
    ("xmax", PgSort::Xmax),
];

/// The provenance line of a row: `block B, lp L, xmin X, xmax Y in FILE`.
pub fn provenance_line(g: &PgGrid, r: &crate::pg::grid::PgRow) -> String {
    format!(
        "{} row: block {}, lp {}, xmin {}, xmax {} in {}",
        r.status,
        r.block,
        r.lp,
        r.xmin,
        r.xmax,
        g.files.get(r.file as usize).map_or("?", String::as_str)
    )
}

fn toolbar_ui(ui: &mut egui::Ui, g: &mut PgGrid) {
    let mut rebuild = false;
    ui.horizontal_wrapped(|ui| {
        ui.heading(format!("{}:{}", g.db, g.table));
        ui.label(format!("{} of {} rows shown", g.view.len(), g.rows.len()));
        if !g.is_idle() {
            ui.spinner();
        }
        ui.separator();
        let l = ui.label("Filter");
        rebuild |= ui
            .add(egui::TextEdit::singleline(&mut g.filter_text).desired_width(160.0))
            .labelled_by(l.id)
            .changed();
        let (live, dead) = (g.count("live"), g.rows.len() - g.count("live"));
        rebuild |= ui
            .checkbox(&mut g.show_live, format!("live ({live})"))
            .changed();
        rebuild |= ui
            .checkbox(&mut g.show_dead, format!("dead ({dead})"))
            .changed();
    });
    if rebuild {
        g.rebuild();
    }
    for e in &g.errors {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    match g.selected_row() {
        Some(r) => {
            ui.monospace(provenance_line(g, r));
        }
        None => {
            ui.weak("click a row for its provenance");
        }
    }
}

fn table_ui(ui: &mut egui::Ui, g: &mut PgGrid) {
    let mut tb = TableBuilder::new(ui)
        .id_salt(("pg-grid", &g.table, g.columns.len()))
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    for w in [48.0, 56.0, 40.0, 64.0, 64.0] {
        tb = tb.column(Column::initial(w).resizable(true));
    }
    for _ in &g.columns {
        // No per-cell clip rectangle (texts are truncated): see the grid.
        tb = tb.column(Column::initial(140.0).at_least(30.0));
    }
    let mut sort = None;
    let mut clicked = None;
    tb.header(20.0, |mut h| {
        let cols = META.iter().map(|(n, k)| ((*n).to_string(), *k)).chain(
            g.columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.clone(), PgSort::Column(i))),
        );
        for (name, key) in cols {
            h.col(|ui| {
                let truncate = matches!(key, PgSort::Column(_));
                if header_button(ui, &name, g.sort.0 == key, g.sort.1, truncate) {
                    sort = Some(key);
                }
            });
        }
    })
    .body(|body| {
        body.rows(ROW_HEIGHT_PX, g.view.len(), |mut row| {
            let Some(&idx) = g.view.get(row.index()) else {
                return;
            };
            let Some(r) = g.rows.get(idx as usize) else {
                return;
            };
            row.set_selected(g.selected == Some(idx));
            let meta = [
                r.status.to_string(),
                r.block.to_string(),
                r.lp.to_string(),
                r.xmin.to_string(),
                r.xmax.to_string(),
            ];
            let values = r.values.iter().map(|v| v.as_deref().unwrap_or("NULL"));
            // The column names arrive with the end of the live dump: until
            // then only the provenance columns are drawn.
            let n_cols = META.len() + g.columns.len();
            let cells = meta.iter().map(String::as_str).chain(values).take(n_cols);
            for (i, text) in cells.enumerate() {
                row.col(|ui| {
                    let t = egui::RichText::new(super::grid::cell_text(text, ui.available_width()));
                    let t = if i == 0 && r.status != "live" {
                        t.color(ui.visuals().warn_fg_color)
                    } else {
                        t
                    };
                    ui.add(egui::Label::new(t).truncate().selectable(false));
                });
            }
            if row.response().clicked() {
                clicked = Some(idx);
            }
        });
    });
    if let Some(k) = sort {
        g.sort_by(k);
    }
    if clicked.is_some() {
        g.selected = clicked;
    }
}

/// Draws the grid of the table being browsed.
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    let wake = st.wake.clone();
    let Some(o) = st.opened.as_mut() else {
        ui.label("Pick a table on the Tables screen.");
        return;
    };
    if o.pg.as_ref().and_then(|p| p.grid.as_ref()).is_none() {
        ui.label("Pick a table on the Tables screen.");
        return;
    }
    super::export::pg_ui(ui, o, &wake);
    let Some(g) = o.pg.as_mut().and_then(|p| p.grid.as_mut()) else {
        return;
    };
    toolbar_ui(ui, g);
    table_ui(ui, g);
}
