//! Open: a path field and the paths opened in this session (a file or
//! directory dropped anywhere on the window opens from any screen:
//! `GuiState::ui`).

use std::path::PathBuf;

use crate::app::GuiState;

/// Draws the Open screen.
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    ui.heading("Open evidence");
    ui.label("A SQLite database, a PostgreSQL data directory or WAL segment, or any file to identify. Files are opened read-only.");
    ui.add_space(8.0);
    let mut go = false;
    ui.horizontal(|ui| {
        let label = ui.label("Path");
        let r = ui
            .add(egui::TextEdit::singleline(&mut st.path_input).desired_width(520.0))
            .labelled_by(label.id);
        go |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        go |= ui.button("Open file").clicked();
    });
    ui.weak("…or drop a file or directory onto this window.");
    if go && !st.path_input.trim().is_empty() {
        let p = PathBuf::from(st.path_input.trim());
        st.open(&p);
        return;
    }
    if let Some(e) = &st.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    if !st.recent.is_empty() {
        ui.add_space(12.0);
        ui.strong("Recent");
        let mut pick = None;
        for p in &st.recent {
            if ui.link(p.display().to_string()).clicked() {
                pick = Some(p.clone());
            }
        }
        if let Some(p) = pick {
            st.open(&p);
        }
    }
}
