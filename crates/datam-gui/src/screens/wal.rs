//! PG WAL browser: the records of the data directory's `pg_wal`, or of a
//! bare WAL directory (a `pg_wal` copied without its data directory),
//! (virtualized), filtered by xid, resource manager, relation and LSN range
//! as `datam pg wal` filters them, and the selected record's block
//! references with their full-page images.

use datam_core::pg::wal::{WalBlock, WalRecord};
use egui_extras::{Column, TableBuilder};

use crate::app::GuiState;
use crate::pg::wal::WalBrowser;
use crate::screens::grid::ROW_HEIGHT_PX;

/// One block reference as the detail shows it (pg_waldump's words).
pub fn block_line(b: &WalBlock) -> String {
    let fpi = if b.fpi {
        format!(
            "FPI {} bytes ({})",
            b.fpi_len.unwrap_or(0),
            b.compression.unwrap_or("none")
        )
    } else {
        "no FPI".to_string()
    };
    format!(
        "blkref #{}: rel {}/{}/{} fork {} blk {}: {fpi}, {} data bytes",
        b.id, b.spc, b.db, b.relfilenode, b.fork, b.block, b.data_len
    )
}

fn filters_ui(ui: &mut egui::Ui, w: &mut WalBrowser) -> bool {
    let mut go = false;
    ui.horizontal_wrapped(|ui| {
        let f = &mut w.filter;
        for (name, field, width) in [
            ("Filter xid", &mut f.xid, 70.0),
            ("Filter rmgr", &mut f.rmgr, 90.0),
            ("Filter relation", &mut f.relation, 140.0),
            ("From LSN", &mut f.start, 100.0),
            ("Before LSN", &mut f.end, 100.0),
        ] {
            let l = ui.label(name);
            let r = ui
                .add(egui::TextEdit::singleline(field).desired_width(width))
                .labelled_by(l.id);
            go |= r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        }
        go |= ui.button("Apply filters").clicked();
        if !w.is_idle() {
            ui.spinner();
            if ui.button("Stop").clicked() {
                w.cancel();
            }
        } else if w.done {
            ui.label(format!("{} records", w.records.len()));
        }
    });
    if let Some(e) = &w.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    go
}

fn records_ui(ui: &mut egui::Ui, w: &mut WalBrowser) {
    let mut clicked = None;
    let mut tb = TableBuilder::new(ui)
        .id_salt("wal")
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .auto_shrink(false)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
    for wd in [96.0, 80.0, 110.0, 60.0, 50.0, 60.0] {
        tb = tb.column(Column::initial(wd).resizable(true));
    }
    tb = tb.column(Column::remainder().clip(true));
    tb.header(20.0, |mut h| {
        for n in ["lsn", "rmgr", "info", "xid", "len", "fpi", "description"] {
            h.col(|ui| {
                ui.strong(n);
            });
        }
    })
    .body(|body| {
        body.rows(ROW_HEIGHT_PX, w.records.len(), |mut row| {
            let i = row.index();
            let Some(r) = w.records.get(i) else {
                return;
            };
            row.set_selected(w.selected == Some(i));
            for text in cells(r) {
                row.col(|ui| {
                    ui.add(egui::Label::new(text).truncate().selectable(false));
                });
            }
            if row.response().clicked() {
                clicked = Some(i);
            }
        });
    });
    if clicked.is_some() {
        w.selected = clicked;
    }
}

fn cells(r: &WalRecord) -> [String; 7] {
    [
        r.lsn.to_string(),
        r.rmgr.clone(),
        r.info.clone().unwrap_or_default(),
        r.xid.to_string(),
        r.total_len.to_string(),
        r.fpi_len.to_string(),
        r.desc.clone(),
    ]
}

fn detail_ui(ui: &mut egui::Ui, r: &WalRecord) {
    ui.strong(format!(
        "record at {} (prev {}, end {}): {} {} xid {}",
        r.lsn,
        r.prev,
        r.end,
        r.rmgr,
        r.info.as_deref().unwrap_or("?"),
        r.xid
    ));
    ui.label(&r.desc);
    if r.blocks.is_empty() {
        ui.weak("no block references");
    }
    for b in &r.blocks {
        ui.monospace(block_line(b));
    }
}

/// Draws the WAL screen (starts the unfiltered scan on first show).
pub fn ui(st: &mut GuiState, ui: &mut egui::Ui) {
    let wake = st.wake.clone();
    let Some(pg) = st
        .opened
        .as_mut()
        .and_then(|o| o.pg.as_mut())
        .filter(|p| p.has_wal())
    else {
        ui.label("Open a PostgreSQL data directory or a WAL directory first.");
        return;
    };
    if pg.wal_dir {
        ui.heading("WAL records (WAL directory)");
        ui.weak(
            "no data directory: the relation filter needs its catalog; filter by xid, rmgr or LSN",
        );
    } else {
        ui.heading("WAL records (pg_wal)");
    }
    let path = pg.path.clone();
    let w = &mut pg.wal;
    let go = filters_ui(ui, w);
    if go || w.applied.is_none() {
        w.scan(path, &wake);
    }
    match w.selected_record() {
        Some(r) => detail_ui(ui, r),
        None => {
            ui.weak("click a record for its block references");
        }
    }
    ui.separator();
    records_ui(ui, w);
}
