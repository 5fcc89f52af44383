//! Tables of a PostgreSQL data directory: each user table of each database
//! with its pages and its live and dead tuple counts (the `pg tables`
//! data), a button to browse its rows and one to start the rescue wizard.

use datam_core::pg::dump::TableInfo;

use crate::app::{GuiState, Screen};
use crate::pg::qualified;

/// `db:schema.table: live N · dead N · N pages`, the line the screen shows.
pub fn counts_line(t: &TableInfo) -> String {
    format!(
        "{}: live {} · dead {} · {} pages",
        qualified(t),
        t.live_tuples,
        t.dead_tuples,
        t.pages
    )
}

enum Pick {
    Browse(TableInfo),
    Rescue(TableInfo),
}

/// Draws the list; returns what was clicked.
fn list_ui(ui: &mut egui::Ui, tables: &[TableInfo], with_browse: bool) -> Option<Pick> {
    let mut pick = None;
    egui::Grid::new("pg-tables")
        .striped(true)
        .num_columns(3)
        .show(ui, |ui| {
            for t in tables {
                if with_browse && ui.button(qualified(t)).clicked() {
                    pick = Some(Pick::Browse(t.clone()));
                }
                ui.label(counts_line(t));
                if ui.button(format!("Rescue {}", qualified(t))).clicked() {
                    pick = Some(Pick::Rescue(t.clone()));
                }
                ui.end_row();
            }
        });
    pick
}

/// Draws the tables (`with_browse`: also the buttons that open the grid)
/// and acts on a click.
pub fn tables_ui(st: &mut GuiState, ui: &mut egui::Ui, with_browse: bool) {
    let wake = st.wake.clone();
    let Some(pg) = st.opened.as_mut().and_then(|o| o.pg.as_mut()) else {
        return;
    };
    let pick = match &pg.tables {
        None => {
            ui.spinner();
            None
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
            None
        }
        Some(Ok(ts)) => {
            egui::ScrollArea::vertical()
                .id_salt("pg-tables-scroll")
                .show(ui, |ui| list_ui(ui, ts, with_browse))
                .inner
        }
    };
    match pick {
        Some(Pick::Browse(t)) => {
            pg.browse(&t, &wake);
            st.screen = Screen::Grid;
        }
        Some(Pick::Rescue(t)) => {
            let path = pg.path.clone();
            let table = format!("{}.{}", t.schema, t.table);
            pg.wizard.pick_table(&path, &t.db, &table, &wake);
            st.screen = Screen::Rescue;
        }
        None => {}
    }
}

/// Draws the Tables screen of a data directory.
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    ui.heading("Tables (PostgreSQL data directory)");
    ui.weak("live and dead tuples as `datam pg tables` counts them; read from the files alone");
    tables_ui(st, ui, true);
}
