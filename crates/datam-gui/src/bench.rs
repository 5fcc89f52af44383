//! `--bench-scroll`: drives the real window through the grid of the biggest
//! table: waits for the first rows to be drawn (time from open), then for
//! the scan to finish, then scrolls page by page, jumps to the end and back,
//! and prints frame-time percentiles (eframe's per-frame CPU time, which
//! includes painting on the CPU renderer; the app's own `GuiState::ui` time;
//! the UI thread's own CPU time per frame and its run-queue wait from
//! `/proc/thread-self/schedstat`, which separate work from waiting for a CPU
//! on a loaded machine; and the wall time between frames)
//! and resident memory (and what the row store itself holds) as one JSON
//! line on stdout.

use std::time::{Duration, Instant};

use crate::app::{GuiState, Screen};
use crate::native::{ShotScreen, scroll};
use crate::screens::grid::{ROW_HEIGHT_PX, ScrollTo};
use crate::shot::show_screen;

/// Pages scrolled one by one.
const PAGES: usize = 400;

/// The benchmark's state.
#[derive(Debug, Default)]
pub struct ScrollBench {
    started: Option<Instant>,
    first_rows: Option<Duration>,
    scan_done_at: Option<Duration>,
    step: usize,
    last_frame: Option<Instant>,
    cpu_ms: Vec<f32>,
    wall_ms: Vec<f32>,
    jump_cpu_ms: Vec<f32>,
    ui_ms: Vec<f32>,
    thread_cpu_ms: Vec<f32>,
    runq_wait_ms: Vec<f32>,
    last_sched: Option<(u64, u64)>,
    proc_ticks: Option<(u64, usize)>,
    done: bool,
}

fn percentile(v: &[f32], q: f32) -> f32 {
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((s.len().saturating_sub(1)) as f32 * q).round() as usize;
    s.get(i).copied().unwrap_or(0.0)
}

/// The UI thread's time on a CPU and waiting for one, in ns (`/proc/thread-self/schedstat`).
fn thread_sched_ns() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut it = s.split_whitespace().map(str::parse::<u64>);
    Some((it.next()?.ok()?, it.next()?.ok()?))
}

/// CPU time of the whole process (all threads, llvmpipe's included), in clock ticks.
fn process_ticks() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = s.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn mean(v: &[f32]) -> f32 {
    #[allow(clippy::cast_precision_loss)]
    let n = v.len().max(1) as f32;
    v.iter().sum::<f32>() / n
}

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl ScrollBench {
    /// One frame; `cpu` is eframe's CPU time of the previous frame (UI and
    /// painting), `ui_secs` the time this frame's `GuiState::ui` took (the
    /// app's own work, without tessellation and GL). Returns `true` when done
    /// (the figures were printed).
    pub fn drive(&mut self, st: &mut GuiState, cpu: Option<f32>, ui_secs: f32) -> bool {
        if self.done {
            return true;
        }
        let started = *self.started.get_or_insert_with(Instant::now);
        let Some(o) = &st.opened else {
            return false;
        };
        if self.first_rows.is_none() {
            if let Some(t) = o.first_rows_drawn {
                self.first_rows = Some(t);
            } else if !o.store.rows.is_empty() && st.screen != Screen::Grid {
                show_screen(st, ShotScreen::Grid);
            }
            return false;
        }
        if !o.scan_done {
            return false;
        }
        self.scan_done_at.get_or_insert_with(|| started.elapsed());
        let n = o.view.as_ref().map_or(0, |v| v.rows.len());
        let now = Instant::now();
        let sched = thread_sched_ns();
        if self.step == 2 {
            self.proc_ticks = process_ticks().map(|t| (t, 0));
        }
        if self.step > 1 {
            if let (Some((run, wait)), Some((run0, wait0))) = (sched, self.last_sched) {
                #[allow(clippy::cast_precision_loss)]
                {
                    self.thread_cpu_ms
                        .push(run.saturating_sub(run0) as f32 / 1e6);
                    self.runq_wait_ms
                        .push(wait.saturating_sub(wait0) as f32 / 1e6);
                }
            }
            if let Some((_, n)) = &mut self.proc_ticks {
                *n += 1;
            }
            self.ui_ms.push(ui_secs * 1000.0);
            let cpu_ms = cpu.unwrap_or(0.0) * 1000.0;
            if self.step > PAGES + 2 {
                self.jump_cpu_ms.push(cpu_ms);
            } else {
                self.cpu_ms.push(cpu_ms);
            }
            if let Some(l) = self.last_frame {
                self.wall_ms.push((now - l).as_secs_f32() * 1000.0);
            }
        }
        self.last_frame = Some(now);
        self.last_sched = sched;
        // A page: the rows a 900 px grid shows.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let page = (900.0 / ROW_HEIGHT_PX) as usize;
        let target = match self.step {
            s if s <= PAGES => s.saturating_mul(page),
            s if s <= PAGES + 40 => {
                if s % 2 == 0 {
                    n.saturating_sub(1)
                } else {
                    0
                }
            }
            _ => {
                self.report(n, o.store.heap_bytes());
                self.done = true;
                return true;
            }
        };
        scroll(st, ScrollTo::Row(target.min(n.saturating_sub(1))));
        self.step += 1;
        false
    }

    /// Process CPU (all threads) per frame since paging began, in ms (10 ms ticks, averaged).
    fn process_ms_per_frame(&self) -> f32 {
        let Some((t0, n)) = self.proc_ticks else {
            return -1.0;
        };
        let t1 = process_ticks().unwrap_or(t0);
        #[allow(clippy::cast_precision_loss)]
        let ms = t1.saturating_sub(t0) as f32 * 10.0;
        #[allow(clippy::cast_precision_loss)]
        let per = ms / n.max(1) as f32;
        per
    }

    fn report(&self, n_rows: usize, store_bytes: usize) {
        let ms = |d: Option<Duration>| d.map_or(-1.0, |d| d.as_secs_f64() * 1000.0);
        println!(
            "{{\"grid_rows\":{n_rows},\"first_rows_drawn_ms\":{:.1},\"scan_done_ms\":{:.1},\"page_frames\":{},\"page_cpu_p95_ms\":{:.2},\"page_cpu_max_ms\":{:.2},\"jump_frames\":{},\"jump_cpu_p95_ms\":{:.2},\"jump_cpu_max_ms\":{:.2},\"ui_thread_cpu_p95_ms\":{:.2},\"ui_thread_cpu_max_ms\":{:.2},\"runq_wait_mean_ms\":{:.2},\"process_cpu_ms_per_frame\":{:.2},\"ui_p95_ms\":{:.2},\"ui_max_ms\":{:.2},\"wall_p95_ms\":{:.2},\"wall_max_ms\":{:.2},\"rss_kib\":{},\"peak_rss_kib\":{},\"rss_anon_kib\":{},\"rss_file_kib\":{},\"store_heap_kib\":{}}}",
            ms(self.first_rows),
            ms(self.scan_done_at),
            self.cpu_ms.len(),
            percentile(&self.cpu_ms, 0.95),
            percentile(&self.cpu_ms, 1.0),
            self.jump_cpu_ms.len(),
            percentile(&self.jump_cpu_ms, 0.95),
            percentile(&self.jump_cpu_ms, 1.0),
            percentile(&self.thread_cpu_ms, 0.95),
            percentile(&self.thread_cpu_ms, 1.0),
            mean(&self.runq_wait_ms),
            self.process_ms_per_frame(),
            percentile(&self.ui_ms, 0.95),
            percentile(&self.ui_ms, 1.0),
            percentile(&self.wall_ms, 0.95),
            percentile(&self.wall_ms, 1.0),
            status_kib("VmRSS:").unwrap_or(0),
            status_kib("VmHWM:").unwrap_or(0),
            status_kib("RssAnon:").unwrap_or(0),
            status_kib("RssFile:").unwrap_or(0),
            store_bytes / 1024,
        );
    }
}
