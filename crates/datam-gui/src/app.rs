//! The app's state and its frame function: polls the background jobs, then
//! draws the navigation bar and the current screen. [`GuiState::ui`] takes a
//! plain `egui::Ui`, so the eframe window ([`crate::native`]) and the
//! egui_kittest tests drive the same code.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use datam_core::job::Diagnostic;

use crate::backend::{self, Facts, PageBytes, SalvageMsg};
use crate::job::{Job, Waker};
use crate::model::{Store, View};
use crate::screens;

/// The screens, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Path field, drag-and-drop, recent files.
    Open,
    /// What was recognised: the `inspect` facts, SHA-256, diagnostics.
    Overview,
    /// Each table with its row counts per status.
    Tables,
    /// The rows of one table (virtualized).
    Grid,
    /// One row: typed values, provenance, hex view of its page.
    Detail,
    /// Every version of the selected row (SQLite: database, WAL, journal;
    /// PostgreSQL: `pg history`'s versions), changed columns marked.
    History,
    /// PostgreSQL: undo a mistaken transaction (dry run, undo.sql, apply).
    Rescue,
    /// PostgreSQL: the WAL records, filtered, with their block references.
    Wal,
    /// A snapshot store: the timeline and the row diff of two snapshots.
    Snapshots,
}

impl Screen {
    /// Every screen with its navigation label.
    pub const ALL: [(Self, &'static str); 9] = [
        (Self::Open, "Open"),
        (Self::Overview, "Overview"),
        (Self::Tables, "Tables"),
        (Self::Grid, "Grid"),
        (Self::Detail, "Row detail"),
        (Self::History, "History"),
        (Self::Rescue, "Rescue"),
        (Self::Wal, "WAL"),
        (Self::Snapshots, "Snapshots"),
    ];
}

/// An opened path and everything the jobs brought back about it.
pub struct Opened {
    /// The evidence path.
    pub path: PathBuf,
    /// `inspect`'s answer, once it arrived.
    pub facts: Option<Result<Facts, String>>,
    inspect_job: Option<Job<Result<Facts, String>>>,
    /// `inspect` (which hashes the whole file) waits for the salvage's
    /// first rows, so the two full-file passes do not share the CPU before
    /// the grid has something to show.
    inspect_later: Option<(PathBuf, Waker)>,
    pub(crate) salvage_job: Option<Job<SalvageMsg>>,
    /// Why the salvage could not run, if it could not.
    pub salvage_error: Option<String>,
    /// The path is no SQLite database (no row browser for it).
    pub not_sqlite: bool,
    /// Rows and tables.
    pub store: Store,
    /// Page size of the SQLite file.
    pub page_size_bytes: u32,
    /// Pages of the SQLite file.
    pub n_pages: u32,
    /// The salvage finished (or was cancelled).
    pub scan_done: bool,
    /// The salvage was cancelled.
    pub cancelled: bool,
    /// Diagnostics of the finished jobs.
    pub diagnostics: Vec<Diagnostic>,
    /// The grid's view (table, filter, sort).
    pub view: Option<View>,
    /// The selected row (index into `store.rows`).
    pub selected: Option<u32>,
    /// The selected row's page bytes.
    pub page: Option<Result<PageBytes, String>>,
    page_job: Option<Job<Result<PageBytes, String>>>,
    /// The grid's export.
    pub export: crate::export::Export,
    /// The timeline and diff of a snapshot store.
    pub snapshots: crate::snapshots::Snapshots,
    /// The versions of the selected row (History screen).
    pub history: crate::history::RowHistory,
    /// A snapshot reference typed as the path (`STORE@ID:PATH`), mounted
    /// while it is open.
    _mounts: Vec<evidence::vfs::Mount>,
    /// The PostgreSQL side (tables, rows, rescue) of a data directory.
    pub pg: Option<crate::pg::PgOpened>,
    /// When the open started.
    pub opened_at: Instant,
    /// Time from open to the first frame that drew grid rows.
    pub first_rows_drawn: Option<Duration>,
}

impl Opened {
    /// Whether no job of this file is still running.
    pub fn is_idle(&self) -> bool {
        self.inspect_job.is_none()
            && self.inspect_later.is_none()
            && self.salvage_job.is_none()
            && self.page_job.is_none()
            && self.history.is_idle()
            && self.export.is_idle()
            && self.snapshots.is_idle()
            && self.pg.as_ref().is_none_or(crate::pg::PgOpened::is_idle)
    }

    /// The data directory's side, once the job recognised one.
    pub fn pg(&self) -> Option<&crate::pg::PgOpened> {
        self.pg.as_ref().filter(|p| p.is_pg())
    }

    /// The progress of the running salvage as a fraction, if any.
    pub fn scan_fraction(&self) -> Option<f32> {
        let p = self.salvage_job.as_ref()?.progress()?;
        #[allow(clippy::cast_precision_loss)]
        p.total.filter(|t| *t > 0).map(|t| p.done as f32 / t as f32)
    }

    /// Asks the running jobs to stop.
    pub fn cancel(&self) {
        if let Some(j) = &self.salvage_job {
            j.cancel();
        }
        if let Some(p) = &self.pg {
            p.cancel();
        }
    }

    /// Selects row `idx` and starts reading its page for the hex view.
    pub fn select(&mut self, idx: u32, wake: &Waker) {
        self.selected = Some(idx);
        let Some(row) = self.store.rows.head(idx as usize) else {
            return;
        };
        if row.status.is_side_file() {
            self.page = Some(Err(
                "this version comes from the -wal / -journal: the hex view shows pages of the main file only".into(),
            ));
            return;
        }
        let page_no = row.at.page_no;
        if matches!(&self.page, Some(Ok(p)) if p.page_no == page_no) {
            return;
        }
        self.page = None;
        match backend::start_page_read(
            self.path.clone(),
            page_no,
            self.page_size_bytes,
            wake.clone(),
        ) {
            Ok(j) => self.page_job = Some(j),
            Err(e) => self.page = Some(Err(e.to_string())),
        }
    }

    fn poll(&mut self) {
        if let Some(j) = &mut self.inspect_job {
            for r in j.poll() {
                self.facts = Some(r);
            }
            if j.is_finished() {
                self.inspect_job = None;
            }
        }
        if let Some(j) = &mut self.page_job {
            for r in j.poll() {
                self.page = Some(r);
            }
            if j.is_finished() {
                self.page_job = None;
            }
        }
        self.poll_salvage();
        self.start_inspect_when_rows_show();
        self.history.poll();
        self.export.poll();
        self.snapshots.poll();
        if let Some(p) = &mut self.pg {
            p.poll();
        }
    }

    /// Starts the deferred `inspect` once the salvage has rows, ended or
    /// cannot run (a directory, a non-SQLite file).
    fn start_inspect_when_rows_show(&mut self) {
        let ready = self.salvage_job.is_none()
            || self.scan_done
            || self.not_sqlite
            || self.salvage_error.is_some()
            || !self.store.rows.is_empty();
        if !ready {
            return;
        }
        if let Some((path, wake)) = self.inspect_later.take() {
            match backend::start_inspect(path, wake) {
                Ok(j) => self.inspect_job = Some(j),
                Err(e) => self.facts = Some(Err(e.to_string())),
            }
        }
    }

    fn poll_salvage(&mut self) {
        let Some(j) = &mut self.salvage_job else {
            return;
        };
        for m in j.poll() {
            match m {
                SalvageMsg::Schema {
                    tables,
                    page_size_bytes,
                    n_pages,
                    file,
                } => {
                    self.store = Store::new(tables);
                    self.store.rows.set_file(file);
                    self.page_size_bytes = page_size_bytes;
                    self.n_pages = n_pages;
                }
                SalvageMsg::Rows(chunk) => {
                    self.store.push_chunk(chunk);
                }
                SalvageMsg::Done { cancelled } => {
                    self.scan_done = true;
                    self.cancelled = cancelled;
                }
                SalvageMsg::Failed(e) => self.salvage_error = Some(e),
                SalvageMsg::NotSqlite => self.not_sqlite = true,
            }
        }
        if j.is_finished() {
            self.diagnostics.extend(j.diagnostics());
            self.salvage_job = None;
            self.scan_done = true;
        }
        if let Some(v) = &mut self.view {
            v.extend(&self.store);
            if self.scan_done && v.unsorted_tail {
                v.apply_sort(&self.store);
            }
        }
    }
}

/// Everything the app shows; [`GuiState::ui`] draws one frame.
pub struct GuiState {
    /// The current screen.
    pub screen: Screen,
    /// The Open screen's path field.
    pub path_input: String,
    /// Paths opened in this session, newest first.
    pub recent: Vec<PathBuf>,
    /// The opened path.
    pub opened: Option<Opened>,
    /// The last error to show (cannot start a job ...).
    pub error: Option<String>,
    /// A scroll the grid performs on its next frame.
    pub scroll_request: Option<crate::screens::grid::ScrollTo>,
    pub(crate) wake: Waker,
}

impl GuiState {
    /// A state on the Open screen; `wake` asks for a repaint (jobs call it).
    pub fn new(wake: Waker) -> Self {
        Self {
            screen: Screen::Open,
            path_input: String::new(),
            recent: Vec::new(),
            opened: None,
            error: None,
            scroll_request: None,
            wake,
        }
    }

    /// Opens `path`: starts the salvage for a SQLite database and `inspect`
    /// (at once when there is no salvage, else once its first rows are in);
    /// shows the Overview.
    pub fn open(&mut self, path: &Path) {
        if let Some(o) = &self.opened {
            o.cancel();
        }
        self.error = None;
        self.path_input = path.display().to_string();
        // A snapshot reference (`STORE@ID:PATH`, as on the command line) is
        // mounted so the jobs read the file as it was in that snapshot.
        let mounts = match snapshot_cow::reference::mount_all(&[path.as_os_str().to_owned()]) {
            Ok(m) => m,
            Err(e) => {
                self.error = Some(e.to_string());
                return;
            }
        };
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(10);
        let salvage_job = match backend::start_salvage(path.to_path_buf(), self.wake.clone()) {
            Ok(j) => Some(j),
            Err(e) => {
                self.error = Some(format!("cannot start the salvage: {e}"));
                None
            }
        };
        let mut opened = Opened {
            path: path.to_path_buf(),
            facts: None,
            inspect_job: None,
            inspect_later: Some((path.to_path_buf(), self.wake.clone())),
            salvage_error: None,
            not_sqlite: false,
            scan_done: salvage_job.is_none(),
            salvage_job,
            store: Store::default(),
            page_size_bytes: 0,
            n_pages: 0,
            cancelled: false,
            diagnostics: Vec::new(),
            view: None,
            selected: None,
            page: None,
            page_job: None,
            history: crate::history::RowHistory::default(),
            export: crate::export::Export::default(),
            snapshots: crate::snapshots::Snapshots::start(path.to_path_buf(), &self.wake),
            pg: Some(crate::pg::PgOpened::start(path.to_path_buf(), &self.wake)),
            opened_at: Instant::now(),
            first_rows_drawn: None,
            _mounts: mounts,
        };
        opened.start_inspect_when_rows_show();
        self.opened = Some(opened);
        self.screen = Screen::Overview;
    }

    /// Shows table slot `t` in the grid.
    pub fn browse(&mut self, t: u32) {
        if let Some(o) = &mut self.opened {
            let mut v = View::new(t);
            v.extend(&o.store);
            o.view = Some(v);
            self.screen = Screen::Grid;
        }
    }

    /// Whether every job has finished.
    pub fn is_idle(&self) -> bool {
        self.opened.as_ref().is_none_or(Opened::is_idle)
    }

    /// Whether the opened path is a PostgreSQL data directory.
    pub fn is_pg(&self) -> bool {
        self.opened.as_ref().and_then(Opened::pg).is_some()
    }

    /// Whether the opened path has WAL to browse (a data directory or a
    /// bare WAL directory).
    pub fn has_wal(&self) -> bool {
        self.opened
            .as_ref()
            .and_then(|o| o.pg.as_ref())
            .is_some_and(crate::pg::PgOpened::has_wal)
    }

    /// Polls the jobs (never blocks).
    pub fn poll(&mut self) {
        if let Some(o) = &mut self.opened {
            o.poll();
        }
    }

    /// Draws one frame.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll();
        let dropped: Option<PathBuf> =
            ui.input(|i| i.raw.dropped_files.first().map(|f| f.path().to_path_buf()));
        if let Some(p) = dropped {
            self.open(&p);
        }
        egui::Panel::top("nav").show(ui, |ui| self.nav_ui(ui));
        egui::CentralPanel::default().show(ui, |ui| match self.screen {
            Screen::Open => screens::open::ui(self, ui),
            Screen::Overview => screens::overview::ui(self, ui),
            Screen::Tables if self.is_pg() => screens::pg_tables::ui(self, ui),
            Screen::Tables => screens::tables::ui(self, ui),
            Screen::Grid if self.is_pg() => screens::pg_grid::ui(self, ui),
            Screen::Grid => screens::grid::ui(self, ui),
            Screen::Detail => screens::detail::ui(self, ui),
            Screen::History if self.is_pg() => screens::pg_history::ui(self, ui),
            Screen::History => screens::history::ui(self, ui),
            Screen::Rescue => screens::rescue::ui(self, ui),
            Screen::Wal => screens::wal::ui(self, ui),
            Screen::Snapshots => screens::snapshots::ui(self, ui),
        });
    }

    fn nav_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.strong("DataM");
            ui.separator();
            for (s, label) in Screen::ALL {
                let store = self.opened.as_ref().is_some_and(|o| o.snapshots.is_store());
                let enabled = match s {
                    Screen::Open => true,
                    Screen::Rescue => self.is_pg(),
                    Screen::Wal => self.has_wal(),
                    Screen::Snapshots => store,
                    Screen::Detail => self.opened.is_some() && !self.is_pg() && !store,
                    Screen::History => self.opened.is_some() && !store,
                    _ => self.opened.is_some() && !store,
                };
                if ui
                    .add_enabled(enabled, egui::Button::selectable(self.screen == s, label))
                    .clicked()
                {
                    self.screen = s;
                }
            }
            ui.separator();
            let Some(o) = &self.opened else {
                ui.weak("evidence is only ever read");
                return;
            };
            ui.label(o.path.display().to_string());
            if let Some(f) = o.scan_fraction() {
                ui.add(
                    egui::ProgressBar::new(f)
                        .desired_width(160.0)
                        .text(format!("scanning {:.0}%", f * 100.0)),
                );
                if ui.button("Cancel").clicked() {
                    o.cancel();
                }
            } else if o.scan_done && o.cancelled {
                ui.weak("scan cancelled: partial results");
            }
        });
    }
}
