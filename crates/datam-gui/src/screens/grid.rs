//! Grid: the rows of one table, virtualized with `egui_extras::TableBuilder`
//! (`body.rows` builds only the visible rows), streaming in while the scan
//! runs. Sort by clicking a header, filter by status and text, resize
//! columns, right-click a cell to copy it or its row; double-click opens the
//! row detail.
//!
//! Rows are [`ROW_HEIGHT_PX`] high: egui keeps scroll offsets in `f32`,
//! exact up to 2^24, so 16 px rows stay pixel-exact up to a million rows and
//! within 2 px at four million.

use egui_extras::{Column, TableBuilder};

use crate::app::{GuiState, Screen};
use crate::model::{Row, STATUSES, SortKey, Status, Store, View};

/// Height of a grid row.
pub const ROW_HEIGHT_PX: f32 = 16.0;

/// A request to scroll the grid, used by the scroll benchmark and by keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrollTo {
    /// Make this display row the first visible one.
    Row(usize),
}

/// The grid's fixed columns before the table's own.
const META: [(&str, SortKey); 4] = [
    ("status", SortKey::Status),
    ("page", SortKey::Page),
    ("offset", SortKey::Page),
    ("rowid", SortKey::Rowid),
];

/// Draws the Grid screen.
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    let wake = st.wake.clone();
    let scroll = st.scroll_request.take();
    let Some(o) = &mut st.opened else {
        ui.label("Nothing is open.");
        return;
    };
    if o.view.is_none() {
        ui.label("Pick a table on the Tables screen.");
        return;
    }
    super::export::ui(ui, o, &wake);
    let Some(view) = &mut o.view else {
        return;
    };
    let store = &o.store;
    let columns = store.columns(view.table);
    let mut rebuild = false;
    ui.horizontal_wrapped(|ui| {
        ui.heading(store.table_name(view.table));
        ui.label(format!(
            "{} of {} rows shown",
            view.rows.len(),
            store.by_table.get(view.table as usize).map_or(0, Vec::len)
        ));
        ui.separator();
        let l = ui.label("Filter");
        rebuild |= ui
            .add(egui::TextEdit::singleline(&mut view.filter.text).desired_width(160.0))
            .labelled_by(l.id)
            .changed();
        for (i, name) in STATUSES.iter().enumerate() {
            let s = Status(u8::try_from(i).unwrap_or(0));
            let n = store.count(view.table, s);
            if n == 0 {
                continue;
            }
            if let Some(on) = view.filter.statuses.get_mut(i) {
                rebuild |= ui.checkbox(on, format!("{name} ({n})")).changed();
            }
        }
        if view.unsorted_tail {
            ui.weak("new rows appended; sorted again when the scan ends");
        }
    });
    if rebuild {
        view.rebuild(store);
    }
    let (selected, open_detail) = table_ui(ui, store, view, &columns, o.selected, scroll);
    if !view.rows.is_empty() && o.first_rows_drawn.is_none() {
        o.first_rows_drawn = Some(o.opened_at.elapsed());
    }
    if let Some(idx) = selected {
        o.select(idx, &wake);
    }
    if open_detail {
        st.screen = Screen::Detail;
    }
}

/// The table itself; returns a newly selected row and whether to open its detail.
fn table_ui(
    ui: &mut egui::Ui,
    store: &Store,
    view: &mut View,
    columns: &[String],
    selected: Option<u32>,
    scroll: Option<ScrollTo>,
) -> (Option<u32>, bool) {
    let mut clicked = None;
    let mut open_detail = false;
    let mut sort = None;
    let mut tb = TableBuilder::new(ui)
        .id_salt(("grid", view.table))
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(92.0))
        .column(Column::initial(48.0).resizable(true))
        .column(Column::initial(56.0).resizable(true))
        .column(Column::initial(64.0).resizable(true));
    // No per-cell clip rectangle: every cell's text is truncated to its
    // width already (`Label::truncate`), and a clip rectangle per cell
    // would split the frame into one draw call per cell (hundreds per
    // frame), which the CPU renderer pays for.
    for _ in columns {
        tb = tb.column(Column::initial(150.0).at_least(30.0).resizable(true));
    }
    if let Some(ScrollTo::Row(r)) = scroll {
        tb = tb.scroll_to_row(r, Some(egui::Align::TOP));
    }
    let header = |ui: &mut egui::Ui, name: &str, key: SortKey, cur: (SortKey, bool)| {
        header_button(
            ui,
            name,
            cur.0 == key,
            cur.1,
            matches!(key, SortKey::Column(_)),
        )
    };
    tb.header(20.0, |mut h| {
        for (name, key) in META {
            h.col(|ui| {
                if header(ui, name, key, view.sort) {
                    sort = Some(key);
                }
            });
        }
        for (c, name) in columns.iter().enumerate() {
            h.col(|ui| {
                if header(ui, name, SortKey::Column(c), view.sort) {
                    sort = Some(SortKey::Column(c));
                }
            });
        }
    })
    .body(|body| {
        body.rows(ROW_HEIGHT_PX, view.rows.len(), |mut row| {
            let Some(&idx) = view.rows.get(row.index()) else {
                return;
            };
            let Some(r) = store.rows.get(idx as usize) else {
                return;
            };
            row.set_selected(selected == Some(idx));
            cells_ui(&mut row, &r, store);
            let resp = row.response();
            if resp.clicked() {
                clicked = Some(idx);
            }
            if resp.double_clicked() {
                clicked = Some(idx);
                open_detail = true;
            }
        });
    });
    if let Some(key) = sort {
        view.sort = match view.sort {
            (k, desc) if k == key => (key, !desc),
            _ => (key, false),
        };
        view.apply_sort(store);
    }
    (clicked, open_detail)
}

/// A sortable column header: its name with ↑ / ↓ when sorted by it.
pub(crate) fn header_button(
    ui: &mut egui::Ui,
    name: &str,
    on: bool,
    desc: bool,
    truncate: bool,
) -> bool {
    let arrow = match (on, desc) {
        (true, false) => " ↑",
        (true, true) => " ↓",
        _ => "",
    };
    let b = egui::Button::new(egui::RichText::new(format!("{name}{arrow}")).strong()).frame(false);
    // Cells have no clip rectangle of their own (see `table_ui`): a table
    // column's name wider than its column is truncated (the fixed
    // columns' short names are not, so their sort arrow stays visible).
    let b = if truncate { b.truncate() } else { b };
    ui.add(b).clicked()
}

/// The cells of one grid row (status, page, offset, rowid, values), each
/// with its copy menu.
fn cells_ui(row: &mut egui_extras::TableRow<'_, '_>, r: &Row, store: &Store) {
    let mut cell_texts: Vec<String> = Vec::with_capacity(4 + r.values.len());
    cell_texts.push(r.status.name().to_string());
    cell_texts.push(r.at.page_no.to_string());
    cell_texts.push(r.at.offset.to_string());
    cell_texts.push(r.rowid.map_or_else(String::new, |v| v.to_string()));
    cell_texts.extend(r.values.iter().map(crate::model::Value::display));
    for (i, text) in cell_texts.iter().enumerate() {
        let (_, resp) = row.col(|ui| {
            let t = egui::RichText::new(cell_text(text, ui.available_width()));
            let t = if i == 0 && r.status.is_recovered() {
                t.color(ui.visuals().warn_fg_color)
            } else {
                t
            };
            ui.add(egui::Label::new(t).truncate().selectable(false));
        });
        resp.context_menu(|ui| copy_menu_ui(ui, text, r, store));
    }
}

/// What a grid cell `width` px wide shows of `s`: its first line, and of
/// that no more characters than could fit (no glyph is narrower than 2 px),
/// so that a long value is not laid out whole each frame only to be
/// truncated (a 700-character value per row tripled a frame's layout time).
pub(crate) fn cell_text(s: &str, width: f32) -> &str {
    let line = s.split('\n').next().unwrap_or_default();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let max_chars = (width.max(0.0) / 2.0) as usize + 1;
    match line.char_indices().nth(max_chars) {
        Some((i, _)) => line.get(..i).unwrap_or(line),
        None => line,
    }
}

fn copy_menu_ui(ui: &mut egui::Ui, cell: &str, r: &Row, store: &Store) {
    if ui.button("Copy cell").clicked() {
        ui.ctx().copy_text(cell.to_string());
        ui.close();
    }
    if ui.button("Copy row (tab-separated)").clicked() {
        ui.ctx().copy_text(row_tsv(r, store));
        ui.close();
    }
}

/// A row as one tab-separated line: status, page, offset, rowid, values.
pub fn row_tsv(r: &Row, _store: &Store) -> String {
    let mut out = format!(
        "{}\t{}\t{}\t{}",
        r.status.name(),
        r.at.page_no,
        r.at.offset,
        r.rowid.map_or_else(String::new, |v| v.to_string())
    );
    for v in &*r.values {
        out.push('\t');
        v.write_display(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cell_text;

    #[test]
    fn cell_text_is_the_first_line_cut_at_a_char_boundary() {
        assert_eq!(cell_text("ab\ncd", 100.0), "ab");
        let long = "é".repeat(1000);
        let shown = cell_text(&long, 100.0);
        assert_eq!(shown.chars().count(), 51);
        assert!(long.starts_with(shown));
        assert_eq!(cell_text("short", 100.0), "short");
        assert_eq!(cell_text("xyz", 0.0), "x");
    }
}
