//! Row detail: the selected row's typed values, its provenance, and a hex
//! view of its page with the cell's parts (cell header, record header, each
//! column) highlighted and labelled.

use crate::app::GuiState;
use crate::backend::{self, PageBytes, Span};
use crate::model::Row;

/// Bytes per hex line.
const LINE_BYTES: usize = 16;

/// The hex view's heading for a row: names its page and offset.
pub fn hex_heading(row: &Row) -> String {
    format!("hex: page {}, offset {}", row.at.page_no, row.at.offset)
}

/// Draws the Row detail screen.
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    let Some((o, row)) = super::selected_row(st.opened.as_ref(), ui) else {
        return;
    };
    let slot = o.store.slot(&row.head());
    let columns = o.store.columns(slot);
    ui.heading(format!("Row of {}", o.store.table_name(slot)));
    ui.columns(2, |cols| {
        if let [left, right] = cols {
            values_ui(left, &row, &columns);
            provenance_ui(
                right,
                &row,
                &o.path.display().to_string(),
                o.page_size_bytes,
            );
        }
    });
    ui.separator();
    ui.strong(hex_heading(&row));
    match &o.page {
        None => {
            ui.spinner();
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        Some(Ok(p)) => {
            let spans = backend::cell_layout(&p.bytes, &row, &columns);
            hex_ui(ui, p, &spans);
        }
    }
}

fn values_ui(ui: &mut egui::Ui, row: &Row, columns: &[String]) {
    ui.strong("Values");
    egui::Grid::new("values")
        .striped(true)
        .num_columns(3)
        .show(ui, |ui| {
            for (i, v) in row.values.iter().enumerate() {
                ui.label(columns.get(i).map_or("?", String::as_str));
                ui.weak(v.type_name());
                ui.add(egui::Label::new(v.display()).wrap());
                ui.end_row();
            }
        });
}

fn provenance_ui(ui: &mut egui::Ui, row: &Row, file: &str, page_size: u32) {
    ui.strong("Provenance");
    let file_offset = u64::from(row.at.page_no.saturating_sub(1))
        .saturating_mul(u64::from(page_size))
        .saturating_add(u64::from(row.at.offset));
    egui::Grid::new("prov").num_columns(2).show(ui, |ui| {
        let mut kv = |k: &str, v: String| {
            ui.label(k);
            ui.monospace(v);
            ui.end_row();
        };
        kv("file", file.to_string());
        kv("status", row.status.name().to_string());
        kv("page", row.at.page_no.to_string());
        kv("offset in page", row.at.offset.to_string());
        kv(
            "offset in file",
            format!("{file_offset} (0x{file_offset:x})"),
        );
        kv(
            "rowid",
            row.rowid
                .map_or_else(|| "unknown".into(), |r| r.to_string()),
        );
        kv("confidence", format!("{:.2}", row.confidence));
        let side = if row.status.is_side_file() {
            "page image in the -wal / -journal (frame number: see datam sqlite history)"
        } else {
            "— (row from the main file)"
        };
        kv("WAL frame / LSN / xid", side.into());
    });
}

fn slot_color(slot: usize, dark: bool) -> egui::Color32 {
    const PALETTE: [(u8, u8, u8); 6] = [
        (0x4e, 0x79, 0xa7),
        (0xf2, 0x8e, 0x2b),
        (0x59, 0xa1, 0x4f),
        (0xe1, 0x57, 0x59),
        (0xb0, 0x7a, 0xa1),
        (0x76, 0xb7, 0xb2),
    ];
    if slot == 0 {
        return egui::Color32::from_gray(if dark { 110 } else { 170 });
    }
    let (r, g, b) = PALETTE
        .get((slot - 1) % PALETTE.len())
        .copied()
        .unwrap_or((128, 128, 128));
    egui::Color32::from_rgb(r, g, b)
}

fn hex_ui(ui: &mut egui::Ui, p: &PageBytes, spans: &[Span]) {
    let dark = ui.visuals().dark_mode;
    ui.horizontal_wrapped(|ui| {
        for s in spans {
            let c = slot_color(s.slot, dark);
            let text = format!("{} @{}+{}", s.label, s.start, s.len);
            ui.label(egui::RichText::new(text).background_color(c.gamma_multiply(0.55)));
        }
    });
    let span_of = |i: usize| spans.iter().find(|s| i >= s.start && i < s.start + s.len);
    let n_lines = p.bytes.len().div_ceil(LINE_BYTES);
    let first_line = spans.first().map_or(0, |s| s.start / LINE_BYTES);
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let line_h = ui.fonts_mut(|f| f.row_height(&font));
    let mut area = egui::ScrollArea::vertical()
        .id_salt(("hex", p.page_no))
        .auto_shrink(false);
    if ui.memory(|m| m.data.get_temp::<u32>(egui::Id::unique("hex-scrolled")) != Some(p.page_no)) {
        area = area.vertical_scroll_offset((first_line.saturating_sub(2)) as f32 * line_h);
        ui.memory_mut(|m| {
            m.data
                .insert_temp(egui::Id::unique("hex-scrolled"), p.page_no)
        });
    }
    area.show_rows(ui, line_h, n_lines, |ui, range| {
        for line in range {
            let start = line * LINE_BYTES;
            let bytes = p
                .bytes
                .get(start..(start + LINE_BYTES).min(p.bytes.len()))
                .unwrap_or_default();
            let mut job = egui::text::LayoutJob::default();
            let plain = egui::TextFormat::simple(font.clone(), ui.visuals().text_color());
            job.append(
                &format!("{start:04x}  "),
                0.0,
                egui::TextFormat::simple(font.clone(), ui.visuals().weak_text_color()),
            );
            for (k, b) in bytes.iter().enumerate() {
                let fmt = match span_of(start + k) {
                    Some(s) => egui::TextFormat {
                        background: slot_color(s.slot, dark).gamma_multiply(0.55),
                        ..plain.clone()
                    },
                    None => plain.clone(),
                };
                job.append(&format!("{b:02x}"), 0.0, fmt);
                job.append(" ", 0.0, plain.clone());
            }
            let ascii: String = bytes
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        char::from(b)
                    } else {
                        '.'
                    }
                })
                .collect();
            job.append(&format!(" {ascii}"), 0.0, plain.clone());
            ui.label(job);
        }
    });
}
