//! `datam gui [PATH]`: the desktop app (crates/datam-gui). Evidence is only
//! ever read. `--screenshot FILE.png [--screen S]` renders one screen to a
//! PNG and exits (works under `xvfb-run` with Mesa's software OpenGL).

use std::path::PathBuf;

/// Screens `--screenshot` can capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShotScreen {
    /// What was recognised (inspect facts, SHA-256).
    Overview,
    /// Tables with row counts per status.
    Tables,
    /// The grid of the biggest table.
    Grid,
    /// Row detail and hex view of the first recovered row.
    Hex,
    /// History (every version) of the first recovered row (SQLite), or of
    /// the biggest table's first dead row (PostgreSQL data directory).
    History,
    /// Rescue wizard: dry run of the transaction that changed most rows of
    /// the first table (PostgreSQL data directory).
    Rescue,
    /// WAL browser with the first record holding a full-page image.
    Wal,
    /// A snapshot store: timeline and the diff of its first and last snapshots.
    Snapshots,
}

/// Arguments of `datam gui`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// File or directory to open at start (evidence; opened read-only).
    pub path: Option<PathBuf>,
    /// Render a screen to this PNG and exit.
    #[arg(long, value_name = "FILE.png")]
    pub screenshot: Option<PathBuf>,
    /// The screen `--screenshot` captures.
    #[arg(long, value_enum, default_value_t = ShotScreen::Overview, requires = "screenshot")]
    pub screen: ShotScreen,
    /// Window size in points, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x800", value_parser = parse_size)]
    pub size: [f32; 2],
    /// Benchmark: scroll the grid page by page and to the end, print frame times (JSON) and exit.
    #[arg(long, hide = true, requires = "path")]
    pub bench_scroll: bool,
}

fn parse_size(s: &str) -> Result<[f32; 2], String> {
    let (w, h) = s.split_once('x').ok_or("expected WIDTHxHEIGHT")?;
    let p = |v: &str| v.trim().parse::<f32>().map_err(|e| e.to_string());
    Ok([p(w)?, p(h)?])
}

/// Runs `datam gui`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let screen = match args.screen {
        ShotScreen::Overview => datam_gui::ShotScreen::Overview,
        ShotScreen::Tables => datam_gui::ShotScreen::Tables,
        ShotScreen::Grid => datam_gui::ShotScreen::Grid,
        ShotScreen::Hex => datam_gui::ShotScreen::Hex,
        ShotScreen::History => datam_gui::ShotScreen::History,
        ShotScreen::Rescue => datam_gui::ShotScreen::Rescue,
        ShotScreen::Wal => datam_gui::ShotScreen::Wal,
        ShotScreen::Snapshots => datam_gui::ShotScreen::Snapshots,
    };
    datam_gui::run(datam_gui::Options {
        path: args.path.clone(),
        screenshot: args.screenshot.clone().map(|p| (p, screen)),
        bench_scroll: args.bench_scroll,
        size: args.size,
    })?;
    Ok(())
}
