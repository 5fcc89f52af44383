//! History: every version of the row selected in the grid, oldest first,
//! with where it was read (database page, WAL frame and commit, journal
//! page) and its changed columns marked.

use serde_json::Value as Json;

use crate::app::GuiState;

/// The heading of version `i`: `v1: wal-old, WAL, committed, frame 3,
/// commit 2, page 3 @95: updated (age)`.
pub fn version_heading(i: usize, v: &Json) -> String {
    let s = |k: &str| v.get(k).and_then(Json::as_str).unwrap_or("?");
    let mut at = String::new();
    if let Some(f) = v.get("frame").and_then(Json::as_u64) {
        at.push_str(&format!("frame {f}, "));
        if let Some(c) = v.get("commit").and_then(Json::as_u64) {
            at.push_str(&format!("commit {c}, "));
        }
    }
    if let Some(p) = v.get("journal_page").and_then(Json::as_u64) {
        at.push_str(&format!("journal page {p}, "));
    }
    at.push_str(&format!(
        "page {} @{}",
        v.get("page").unwrap_or(&Json::Null),
        v.get("offset").unwrap_or(&Json::Null)
    ));
    let changed: Vec<&str> = v
        .get("changed")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let changed = if changed.is_empty() {
        String::new()
    } else {
        format!(" ({})", changed.join(", "))
    };
    format!(
        "v{}: {}, {}, {at}: {}{changed}",
        i + 1,
        s("status"),
        s("stage"),
        s("change")
    )
}

fn value_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => "NULL".into(),
        other => other.to_string(),
    }
}

fn version_ui(ui: &mut egui::Ui, i: usize, v: &Json, columns: &[String]) {
    ui.strong(version_heading(i, v));
    let changed: Vec<&str> = v
        .get("changed")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let values = v.get("values").and_then(Json::as_array);
    let mark = ui.visuals().warn_fg_color.gamma_multiply(0.35);
    ui.horizontal_wrapped(|ui| {
        for (c, val) in values.into_iter().flatten().enumerate() {
            let name = columns.get(c).map_or("?", String::as_str);
            let is_changed = changed.contains(&name);
            let marker = if is_changed { "● " } else { "" };
            let text = format!("{marker}{name}={}", value_text(val));
            let t = egui::RichText::new(text).monospace();
            if is_changed {
                ui.label(t.background_color(mark))
                    .on_hover_text("changed in this version");
            } else {
                ui.label(t);
            }
        }
        if values.is_none() {
            ui.weak("(values not readable)");
        }
    });
    ui.add_space(4.0);
}

/// Draws the History screen (reads the selected row's versions on first show).
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    let wake = st.wake.clone();
    let Some((o, row)) = super::selected_row(st.opened.as_ref(), ui) else {
        return;
    };
    let slot = o.store.slot(&row.head());
    let table = o.store.table_name(slot).to_string();
    let columns = o.store.columns(slot);
    let Some(rowid) = row.rowid else {
        ui.label("This row has no rowid: its history is `datam sqlite history --key`.");
        return;
    };
    let Some(o) = st.opened.as_mut() else {
        return;
    };
    o.history
        .load(o.path.clone(), (table.clone(), rowid), &wake);
    ui.heading(format!("History of {table} rowid {rowid}"));
    ui.weak("● marks the columns each version changed");
    super::versions_ui(ui, "history", o.history.versions.as_ref(), |ui, i, v| {
        version_ui(ui, i, v, &columns);
    });
}
