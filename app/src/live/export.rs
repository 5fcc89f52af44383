//! `datam live export`: parallel binary/CSV COPY on one snapshot
//! (PostgreSQL), or JSON lines through the row reader (either engine).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::ValueEnum;
use datam_core::job::{Diagnostic, JobCtx, Progress, Reporter, Unit};
use datam_live::RowQuery;
use datam_live::pg::export::{ExportFormat, ExportRequest};

use super::Conn;

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// PostgreSQL binary COPY (loads with COPY … FROM … (FORMAT binary)).
    Binary,
    /// CSV with a header line (server COPY).
    Csv,
    /// One JSON object per row (decoded; one stream).
    Jsonl,
}

/// `datam live export` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    conn: Conn,
    /// The table (name or schema.name).
    #[arg(long)]
    table: String,
    /// The output file.
    #[arg(long)]
    out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Binary)]
    format: Format,
    /// Connections sharing one snapshot, each copying block ranges (PostgreSQL 14+).
    #[arg(long, default_value_t = 2)]
    jobs: usize,
}

/// Drives an indicatif bar from the job's progress events.
struct Bar(indicatif::ProgressBar);

impl Reporter for Bar {
    fn progress(&self, p: &Progress) {
        match p.unit {
            Unit::Bytes => self.0.set_position(p.done),
            Unit::Items => self.0.set_message(format!("{} rows", p.done)),
            _ => {}
        }
    }
    fn diagnostic(&self, d: &Diagnostic) {
        self.0.suspend(|| eprintln!("{d}"));
    }
}

/// `datam live export URL --table T --out FILE`.
pub fn run(a: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let (_, mut s) = a.conn.open()?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {bytes} {binary_bytes_per_sec} {msg} {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let bar = Arc::new(Bar(bar));
    let ctx = JobCtx::new(bar.clone());
    let format = match a.format {
        Format::Binary => ExportFormat::Binary,
        Format::Csv => ExportFormat::Csv,
        Format::Jsonl => return jsonl(&mut s, a, &ctx, out),
    };
    let req = ExportRequest {
        table: a.table.clone(),
        out: a.out.clone(),
        format,
        jobs: a.jobs,
    };
    let sum = s.export(&req, &ctx)?;
    bar.0.finish_and_clear();
    #[allow(clippy::cast_precision_loss)]
    let mb = sum.bytes as f64 / 1e6;
    writeln!(
        out,
        "exported {} rows, {mb:.1} MB in {:.2} s ({:.1} MB/s) with {} connection(s) to {}",
        sum.rows,
        sum.seconds,
        mb / sum.seconds.max(1e-9),
        sum.jobs,
        a.out.display()
    )?;
    Ok(())
}

fn jsonl(
    s: &mut datam_live::Session,
    a: &Args,
    ctx: &JobCtx,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let file = std::fs::File::create(&a.out).with_context(|| a.out.display().to_string())?;
    let mut w = std::io::BufWriter::new(file);
    let q = RowQuery {
        table: a.table.clone(),
        ..RowQuery::default()
    };
    let (mut rows, mut bytes) = (0u64, 0u64);
    let mut err = None;
    s.for_each_batch(&q, ctx, &mut |cols, batch| {
        for r in &batch.rows {
            let obj: serde_json::Map<String, serde_json::Value> = cols
                .iter()
                .zip(&r.values)
                .map(|(c, v)| (c.name.clone(), v.to_json()))
                .collect();
            let line = serde_json::Value::Object(obj).to_string();
            if let Err(e) = writeln!(w, "{line}") {
                err = Some(e);
                return Ok(false);
            }
            bytes += line.len() as u64 + 1;
        }
        rows += batch.rows.len() as u64;
        ctx.progress(datam_core::job::Phase::Encode, Unit::Bytes, bytes, None);
        ctx.progress(datam_core::job::Phase::Encode, Unit::Items, rows, None);
        Ok(true)
    })?;
    if let Some(e) = err {
        return Err(e).context(a.out.display().to_string());
    }
    w.flush()?;
    writeln!(
        out,
        "exported {rows} rows as JSON lines to {}",
        a.out.display()
    )?;
    Ok(())
}
