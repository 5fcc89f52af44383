//! Helpers of the GUI tests: a harness on the app, stepping until the jobs
//! end, and the CLI run in-process.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use datam_gui::GuiState;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

pub fn harness() -> Harness<'static, GuiState> {
    let state = GuiState::new(Arc::new(|| {}));
    let h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, st: &mut GuiState| st.ui(ui), state);
    // As the window does at start.
    datam_gui::fonts::install(&h.ctx);
    h
}

/// Steps frames until every background job has finished (a guard of 20000
/// frames against a hang, not a timing assertion).
pub fn run_until_idle(h: &mut Harness<'_, GuiState>) {
    for _ in 0..20_000 {
        h.step();
        if h.state().is_idle() {
            h.run_steps(3);
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("background jobs did not finish");
}

pub fn open_by_typing(h: &mut Harness<'_, GuiState>, path: &Path) {
    h.get_by_label("Path").click();
    h.run_steps(1);
    h.get_by_label("Path")
        .type_text(&path.display().to_string());
    h.run_steps(1);
    h.get_by_label("Open file").click();
    h.run_steps(1);
    run_until_idle(h);
}

/// What `datam ARGS...` prints (the CLI's own code path, in-process).
pub fn cli(args: &[&str]) -> String {
    let mut out = Vec::new();
    let mut all = vec!["datam"];
    all.extend_from_slice(args);
    datam::run(all, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// `cli` output as JSON lines.
pub fn cli_jsonl(args: &[&str]) -> Vec<serde_json::Value> {
    cli(args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
