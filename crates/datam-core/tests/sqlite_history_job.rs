//! `datam_core::sqlite::history` reports progress (database states read,
//! then WAL frames carved, of their total) and stops when cancelled. The
//! evidence is the shipped `wal` sample (made by the real SQLite library,
//! `corpora/sqlite-history/gen.py`).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use datam_core::job::{CancelToken, CollectReporter, Diagnostic, JobCtx, Progress, Reporter, Unit};
use datam_core::sqlite::SqliteError;
use datam_core::sqlite::history::{HistoryItem, HistoryRequest, history};
use sqlite_pages::wal::Wal;

fn request() -> HistoryRequest {
    HistoryRequest {
        db: testkit::workspace_root().join("corpora/sqlite-history/samples/wal/evidence.db"),
        ..HistoryRequest::default()
    }
}

#[test]
fn progress_counts_states_then_frames() {
    let req = request();
    let mut wal_path = req.db.clone().into_os_string();
    wal_path.push("-wal");
    let wal_bytes = std::fs::read(&wal_path).unwrap();
    let wal = Wal::parse(&wal_bytes).unwrap();
    let commits = u64::from(wal.counts().commits);
    let rep = Arc::new(CollectReporter::default());
    let mut items: Vec<HistoryItem> = Vec::new();
    history(&req, &JobCtx::new(rep.clone()), &mut items).unwrap();
    assert!(!items.is_empty());
    let last = rep.last_progress().unwrap();
    assert_eq!(last.unit, Unit::Items);
    // The file's state, one per commit (and at most one for the frames after
    // the last commit), then one step per frame.
    let total = last.total.unwrap();
    let frames = u64::from(wal.n_frames());
    assert!(
        total >= 1 + commits + frames && total <= 2 + commits + frames,
        "total {total}, {commits} commits, {frames} frames"
    );
    assert_eq!(last.done, total);
}

/// Cancels once `after` steps are done.
struct CancelAfter(CancelToken, u64);
impl Reporter for CancelAfter {
    fn progress(&self, p: &Progress) {
        if p.done >= self.1 {
            self.0.cancel();
        }
    }
    fn diagnostic(&self, _d: &Diagnostic) {}
}

#[test]
fn cancel_stops_the_state_walk() {
    for after in [0, 1, 3] {
        let token = CancelToken::default();
        let ctx = JobCtx {
            cancel: token.clone(),
            reporter: Arc::new(CancelAfter(token, after)),
        };
        let mut items: Vec<HistoryItem> = Vec::new();
        let r = history(&request(), &ctx, &mut items);
        assert!(
            matches!(r, Err(SqliteError::Cancelled(_))),
            "{after}: {r:?}"
        );
        assert!(items.is_empty());
    }
}
