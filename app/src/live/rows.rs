//! `datam live tables` and `datam live rows`.

use std::io::Write;

use clap::ValueEnum;
use datam_core::job::JobCtx;
use datam_live::{Column, RowQuery, Value};

use super::Conn;

/// Output formats of `datam live rows`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Tab-separated with a header line; NULL prints as NULL.
    Text,
    /// One JSON object per row.
    Jsonl,
    /// CSV with a header line; NULL is an empty unquoted field.
    Csv,
}

/// `datam live rows` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    conn: Conn,
    /// The table (name or schema.name).
    #[arg(long)]
    table: String,
    /// An SQL condition rows must meet (run in a read-only transaction).
    #[arg(long = "where")]
    filter: Option<String>,
    /// A column to order by.
    #[arg(long)]
    order_by: Option<String>,
    /// At most this many rows.
    #[arg(long)]
    limit: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `datam live tables URL`.
pub fn tables(c: &Conn, out: &mut dyn Write) -> anyhow::Result<()> {
    let (_, mut s) = c.open()?;
    writeln!(out, "schema\ttable\tkind\testimated_rows\tkey")?;
    for t in s.tables()? {
        let est = t
            .estimated_rows
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".into());
        let key = if t.key.is_empty() {
            "(none)".to_owned()
        } else {
            t.key.join(",")
        };
        writeln!(out, "{}\t{}\t{}\t{est}\t{key}", t.schema, t.name, t.kind)?;
    }
    Ok(())
}

/// `datam live rows URL --table T ...`.
pub fn run(a: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let (_, mut s) = a.conn.open()?;
    let q = RowQuery {
        table: a.table.clone(),
        filter: a.filter.clone(),
        order_by: a.order_by.clone(),
        limit: a.limit,
    };
    let mut header = true;
    let mut io_err = None;
    let mut line = String::new();
    let r = s.for_each_batch(&q, &JobCtx::quiet(), &mut |cols, batch| {
        if std::mem::take(&mut header) {
            line.clear();
            write_header(a.format, cols, &mut line);
            if let Err(e) = out.write_all(line.as_bytes()) {
                io_err = Some(e);
                return Ok(false);
            }
        }
        for row in &batch.rows {
            line.clear();
            write_row(a.format, cols, &row.values, &mut line);
            if let Err(e) = out.write_all(line.as_bytes()) {
                io_err = Some(e);
                return Ok(false);
            }
        }
        Ok(true)
    });
    if let Some(e) = io_err {
        return Err(e.into());
    }
    r.map_err(Into::into)
}

fn write_header(f: Format, cols: &[Column], out: &mut String) {
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    match f {
        Format::Text => out.push_str(&names.join("\t")),
        Format::Csv => {
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                rowcodec::pg::csv_quote(n, out);
            }
        }
        Format::Jsonl => return,
    }
    out.push('\n');
}

fn write_row(f: Format, cols: &[Column], values: &[Value], out: &mut String) {
    match f {
        Format::Text => {
            let cells: Vec<String> = values.iter().map(Value::display).collect();
            out.push_str(&cells.join("\t"));
        }
        Format::Csv => {
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match v {
                    Value::Null => {}
                    Value::Text(t) => rowcodec::pg::csv_quote(t, out),
                    v => rowcodec::pg::csv_quote(&v.display(), out),
                }
            }
        }
        Format::Jsonl => {
            let obj: serde_json::Map<String, serde_json::Value> = cols
                .iter()
                .zip(values)
                .map(|(c, v)| (c.name.clone(), v.to_json()))
                .collect();
            out.push_str(&serde_json::Value::Object(obj).to_string());
        }
    }
    out.push('\n');
}
