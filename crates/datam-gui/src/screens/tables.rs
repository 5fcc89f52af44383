//! Tables: every table of the opened file with its row counts per status.

use crate::app::GuiState;
use crate::model::{STATUSES, Status, Store};

/// The counts of table slot `t` as one line: `live 90 · deleted 10`
/// (statuses with no row left out).
pub fn counts_line(store: &Store, t: u32) -> String {
    let parts: Vec<String> = (0..STATUSES.len())
        .filter_map(|i| {
            let s = Status(u8::try_from(i).ok()?);
            let n = store.count(t, s);
            (n > 0).then(|| format!("{} {n}", s.name()))
        })
        .collect();
    if parts.is_empty() {
        "no rows".into()
    } else {
        parts.join(" · ")
    }
}

/// Draws the Tables screen.
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    let Some(o) = &st.opened else {
        ui.label("Nothing is open.");
        return;
    };
    let store = &o.store;
    ui.heading("Tables");
    if !o.scan_done {
        ui.weak("counts grow while the scan runs");
    }
    let mut browse = None;
    let n = u32::try_from(store.tables.len()).unwrap_or(u32::MAX);
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("tables")
            .striped(true)
            .num_columns(3)
            .show(ui, |ui| {
                for t in 0..=n {
                    let rows = store.by_table.get(t as usize).map_or(0, Vec::len);
                    if t == n && rows == 0 {
                        break;
                    }
                    let name = store.table_name(t);
                    let dropped = store.tables.get(t as usize).is_some_and(|t| t.dropped);
                    let text = if dropped {
                        format!("{name} (dropped)")
                    } else {
                        name.to_string()
                    };
                    if ui.button(text).clicked() {
                        browse = Some(t);
                    }
                    ui.label(format!("{rows} rows"));
                    ui.label(format!("{name}: {}", counts_line(store, t)));
                    ui.end_row();
                }
            });
    });
    if let Some(t) = browse {
        st.browse(t);
    }
}
