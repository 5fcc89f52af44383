//! One module per screen; each has `ui(state, ui)`. To add a screen: add a
//! variant to [`crate::app::Screen`] (and its label to `Screen::ALL`), a
//! module here, and its arm in `GuiState::ui`.

pub mod detail;
pub mod export;
pub mod grid;
pub mod history;
pub mod open;
pub mod overview;
pub mod pg_grid;
pub mod pg_history;
pub mod pg_tables;
pub mod rescue;
pub mod snapshots;
pub mod tables;
pub mod wal;

/// The opened file and its selected row, or a hint drawn instead.
pub(crate) fn selected_row<'a>(
    o: Option<&'a crate::app::Opened>,
    ui: &mut egui::Ui,
) -> Option<(&'a crate::app::Opened, crate::model::Row)> {
    let Some(o) = o else {
        ui.label("Nothing is open.");
        return None;
    };
    let row = o.selected.and_then(|i| o.store.rows.get(i as usize));
    if row.is_none() {
        ui.label("Select a row in the grid.");
    }
    Some((o, row?))
}

/// A history job's answer: a spinner while it runs, its error, or `N
/// versions` and each version drawn by `each` in a scroll area.
pub(crate) fn versions_ui<T>(
    ui: &mut egui::Ui,
    id: &str,
    versions: Option<&Result<Vec<T>, String>>,
    mut each: impl FnMut(&mut egui::Ui, usize, &T),
) {
    match versions {
        None => {
            ui.spinner();
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        Some(Ok(vs)) => {
            ui.label(format!("{} versions", vs.len()));
            egui::ScrollArea::vertical().id_salt(id).show(ui, |ui| {
                for (i, v) in vs.iter().enumerate() {
                    each(ui, i, v);
                }
            });
        }
    }
}
