//! The WAL browser's state: the filters (xid, resource manager, relation,
//! LSN range) as typed, the records of the last scan (datam-core's
//! `pg::wal::scan`, the job behind `datam pg wal`, with the same filters)
//! and the selected record.

use std::path::PathBuf;

use datam_core::pg::wal::{WalRecord, WalScanRequest};
use walparse::Lsn;

use crate::job::{Batcher, Job, Waker};

/// The filter fields as typed (empty = no filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalFilter {
    /// Transaction id.
    pub xid: String,
    /// Resource manager (pg_waldump name, e.g. `Heap`).
    pub rmgr: String,
    /// `SCHEMA.TABLE` (resolved through the data directory's catalog).
    pub relation: String,
    /// First LSN (`0/16B3740`).
    pub start: String,
    /// Stop before this LSN.
    pub end: String,
}

impl WalFilter {
    /// The scan request of `datam pg wal PGDATA` with these filters.
    pub fn request(&self, pgdata: PathBuf) -> Result<WalScanRequest, String> {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let lsn = |s: &str| -> Result<Option<Lsn>, String> {
            opt(s)
                .map(|s| s.parse::<Lsn>().map_err(|e| e.to_string()))
                .transpose()
        };
        Ok(WalScanRequest {
            inputs: vec![pgdata],
            start: lsn(&self.start)?,
            end: lsn(&self.end)?,
            xid: opt(&self.xid)
                .map(|x| x.parse::<u32>().map_err(|e| format!("xid {x:?}: {e}")))
                .transpose()?,
            rmgr: opt(&self.rmgr),
            relation: opt(&self.relation),
            ..WalScanRequest::default()
        })
    }
}

/// Messages of the scan job.
#[derive(Debug)]
pub enum WalMsg {
    /// Records in LSN order.
    Records(Vec<WalRecord>),
    /// The scan ended (with its error, if it failed).
    Done(Option<String>),
}

/// The browser.
#[derive(Default)]
pub struct WalBrowser {
    /// The filter fields.
    pub filter: WalFilter,
    /// The filter of the records shown.
    pub applied: Option<WalFilter>,
    /// The records of the last scan.
    pub records: Vec<WalRecord>,
    /// The scan finished.
    pub done: bool,
    /// Why the scan stopped early or could not start.
    pub error: Option<String>,
    /// Index of the selected record.
    pub selected: Option<usize>,
    job: Option<Job<WalMsg>>,
}

impl WalBrowser {
    /// Whether no scan is running.
    pub fn is_idle(&self) -> bool {
        self.job.is_none()
    }

    /// Starts a scan of `pgdata` with the filter fields.
    pub fn scan(&mut self, pgdata: PathBuf, wake: &Waker) {
        self.records.clear();
        self.selected = None;
        self.done = false;
        self.error = None;
        self.applied = Some(self.filter.clone());
        let req = match self.filter.request(pgdata) {
            Ok(r) => r,
            Err(e) => {
                self.error = Some(e);
                self.done = true;
                return;
            }
        };
        let job = Job::spawn("pg-wal", wake.clone(), move |ctx, out| {
            let mut sink = Batcher::new(out, WalMsg::Records);
            let res = datam_core::pg::wal::scan(&req, ctx, &mut sink);
            sink.flush();
            out.send(WalMsg::Done(res.err().map(|e| e.to_string())));
        });
        match job {
            Ok(j) => self.job = Some(j),
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Stops the scan.
    pub fn cancel(&self) {
        if let Some(j) = &self.job {
            j.cancel();
        }
    }

    /// Takes in the records that arrived.
    pub fn poll(&mut self) {
        let Some(j) = &mut self.job else {
            return;
        };
        for m in j.poll() {
            match m {
                WalMsg::Records(r) => self.records.extend(r),
                WalMsg::Done(e) => {
                    self.done = true;
                    self.error = e;
                }
            }
        }
        if j.is_finished() {
            self.job = None;
            self.done = true;
        }
    }

    /// The selected record.
    pub fn selected_record(&self) -> Option<&WalRecord> {
        self.records.get(self.selected?)
    }
}
