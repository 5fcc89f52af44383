//! The real window (eframe, glow renderer): runs [`GuiState`] and, for
//! `--screenshot`, drives it to one screen, captures the frame as PNG and
//! closes; for `--bench-scroll`, scrolls the grid page by page and to the
//! end and prints frame-time figures.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::app::GuiState;
use crate::bench::ScrollBench;
use crate::screens::grid::ScrollTo;

/// The screens `--screenshot` can capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShotScreen {
    /// The Overview (the first screen after opening).
    Overview,
    /// Tables with counts.
    Tables,
    /// The grid of the table with most rows.
    Grid,
    /// Row detail with the hex view of the first recovered row.
    Hex,
    /// History of the first recovered row (SQLite).
    History,
    /// The rescue wizard's dry run of the transaction that changed most
    /// rows of the first table (PostgreSQL data directory).
    Rescue,
    /// The WAL browser with the first record that has a full-page image.
    Wal,
    /// A snapshot store's timeline and the diff of its first and last snapshots.
    Snapshots,
}

/// How `datam gui` was asked to run.
pub struct Options {
    /// Evidence to open at start.
    pub path: Option<PathBuf>,
    /// Capture this screen to this PNG and exit.
    pub screenshot: Option<(PathBuf, ShotScreen)>,
    /// Run the scroll benchmark and print its figures.
    pub bench_scroll: bool,
    /// Window size in points.
    pub size: [f32; 2],
}

/// Why the app could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The window or GL context could not be created.
    #[error("cannot open the window: {0}")]
    Window(String),
    /// The screenshot could not be taken or written.
    #[error("screenshot {path}: {message}")]
    Screenshot {
        /// The PNG path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Runs the app until its window closes.
pub fn run(opts: Options) -> Result<(), Error> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("DataM")
            .with_inner_size(opts.size)
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        glow_options: eframe::egui_glow::GlowConfiguration {
            vsync: !opts.bench_scroll,
            ..Default::default()
        },
        ..Default::default()
    };
    let shot_result: Arc<Mutex<Option<Result<(), String>>>> = Arc::new(Mutex::new(None));
    let shot_path = opts.screenshot.as_ref().map(|(p, _)| p.clone());
    let result = shot_result.clone();
    eframe::run_native(
        "DataM",
        native,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            crate::fonts::install(&ctx);
            let wake: crate::job::Waker = Arc::new(move || ctx.request_repaint());
            let mut state = GuiState::new(wake);
            if let Some(p) = &opts.path {
                state.open(p);
            }
            Ok(Box::new(NativeApp {
                state,
                shot: opts.screenshot.map(|(path, screen)| Shot {
                    path,
                    screen,
                    stage: ShotStage::WaitIdle,
                    started: Instant::now(),
                    result,
                }),
                bench: opts.bench_scroll.then(ScrollBench::default),
            }))
        }),
    )
    .map_err(|e| Error::Window(e.to_string()))?;
    if let Some(path) = shot_path {
        let r = shot_result.lock().ok().and_then(|mut r| r.take());
        return match r {
            Some(Ok(())) => Ok(()),
            Some(Err(message)) => Err(Error::Screenshot { path, message }),
            None => Err(Error::Screenshot {
                path,
                message: "the window closed before the frame was captured".into(),
            }),
        };
    }
    Ok(())
}

struct NativeApp {
    state: GuiState,
    shot: Option<Shot>,
    bench: Option<ScrollBench>,
}

enum ShotStage {
    WaitIdle,
    Settle(u32),
    Requested,
}

struct Shot {
    path: PathBuf,
    screen: ShotScreen,
    stage: ShotStage,
    started: Instant,
    result: Arc<Mutex<Option<Result<(), String>>>>,
}

impl eframe::App for NativeApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let t0 = Instant::now();
        self.state.ui(ui);
        let ui_secs = t0.elapsed().as_secs_f32();
        let ctx = ui.ctx().clone();
        if let Some(shot) = &mut self.shot {
            shot.drive(&mut self.state, &ctx);
        }
        if let Some(b) = &mut self.bench {
            if b.drive(&mut self.state, frame.info().cpu_usage, ui_secs) {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            ctx.request_repaint();
        }
    }
}

impl Shot {
    fn drive(&mut self, state: &mut GuiState, ctx: &egui::Context) {
        match self.stage {
            ShotStage::WaitIdle => {
                // Big files: capture what is there after a minute.
                if state.is_idle() || self.started.elapsed() > Duration::from_secs(60) {
                    crate::shot::show_screen(state, self.screen);
                    self.stage = ShotStage::Settle(0);
                }
                ctx.request_repaint_after(Duration::from_millis(50));
            }
            ShotStage::Settle(n) => {
                // A few frames for layout, fonts and the page read to land.
                if n >= 5 && state.is_idle() && crate::shot::advance(state, self.screen) {
                    // One more step of the screen's flow started (a job).
                    self.stage = ShotStage::Settle(0);
                } else if n >= 5 && state.is_idle() {
                    let path = self.path.clone();
                    let result = self.result.clone();
                    let ctx2 = ctx.clone();
                    ctx.request_screenshot(move |img| {
                        let r = write_png(&path, &img);
                        if let Ok(mut slot) = result.lock() {
                            *slot = Some(r);
                        }
                        ctx2.send_viewport_cmd(egui::ViewportCommand::Close);
                        ctx2.request_repaint();
                    });
                    self.stage = ShotStage::Requested;
                } else {
                    self.stage = ShotStage::Settle(n + 1);
                }
                ctx.request_repaint();
            }
            ShotStage::Requested => ctx.request_repaint(),
        }
    }
}

fn write_png(path: &std::path::Path, img: &egui::ColorImage) -> Result<(), String> {
    let [w, h] = img.size;
    let rgba: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
    let w = u32::try_from(w).map_err(|e| e.to_string())?;
    let h = u32::try_from(h).map_err(|e| e.to_string())?;
    image::save_buffer(path, &rgba, w, h, image::ExtendedColorType::Rgba8)
        .map_err(|e| e.to_string())
}

/// Scroll requests the benchmark makes (re-exported for it).
pub(crate) fn scroll(state: &mut GuiState, to: ScrollTo) {
    state.scroll_request = Some(to);
}
