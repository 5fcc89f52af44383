//! Output encoders of `sqlite history`: the text listing (versions grouped
//! by row, changed columns spelled out) and JSON lines.

use std::io::{self, Write};

use rowcodec::sqlite::OwnedValue;
use sqlite_pages::history::Version;
use sqlite_pages::schema::Table;

use super::history::{HistoryItem, version_json};

fn render(v: &OwnedValue) -> String {
    match v {
        OwnedValue::Text(s) => format!("'{}'", s.replace('\'', "''")),
        OwnedValue::Null => "NULL".into(),
        other => rowcodec::sqlite::encode::sql_literal(other),
    }
}

fn where_text(v: &Version) -> String {
    let page = v
        .page
        .map(|(p, o)| format!(" page {p} @{o}"))
        .unwrap_or_default();
    if let Some(f) = v.frame {
        let commit = f
            .commit_idx
            .map(|c| format!(", commit {c}"))
            .unwrap_or_default();
        return format!("frame {}{commit}{page}", f.frame_no);
    }
    if let Some(j) = v.journal {
        return format!("journal record @{}{page}", j.offset);
    }
    format!("{}{page}", v.stage.label())
}

fn column_name(names: &[String], i: usize, unnamed: &str) -> String {
    names
        .get(i)
        .cloned()
        .unwrap_or_else(|| format!("{unnamed}{i}"))
}

fn body(v: &Version, prev: Option<&Vec<OwnedValue>>, names: &[String]) -> String {
    match (&v.values, prev) {
        (None, _) => "deleted".to_string(),
        (Some(vals), Some(p)) if v.change == "updated" => vals
            .iter()
            .enumerate()
            .filter(|(i, x)| p.get(*i) != Some(*x))
            .map(|(i, x)| {
                let n = column_name(names, i, "column ");
                let old = p.get(i).map(render).unwrap_or_else(|| "-".into());
                format!("{n}: {old} -> {}", render(x))
            })
            .collect::<Vec<_>>()
            .join(", "),
        (Some(vals), _) => vals
            .iter()
            .enumerate()
            .map(|(i, x)| format!("{}={}", column_name(names, i, "c"), render(x)))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Writes the text listing of `versions` (after `# note` lines).
pub fn write_text(
    tables: &[Table],
    notes: &[String],
    versions: &[HistoryItem],
    out: &mut dyn Write,
) -> io::Result<()> {
    for n in notes {
        writeln!(out, "# {n}")?;
    }
    let mut last: Option<(&str, &str)> = None;
    let cols = |t: &str| -> Vec<String> {
        tables
            .iter()
            .find(|x| x.name == t)
            .map(|x| x.columns.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default()
    };
    let mut prev: Option<&Vec<OwnedValue>> = None;
    for v in versions.iter().map(|i| &i.version) {
        if last != Some((v.table.as_str(), v.key.as_str())) {
            let what = if v.rowid.is_some() { "rowid" } else { "key" };
            writeln!(out, "{} {what} {}", v.table, v.key)?;
            last = Some((v.table.as_str(), v.key.as_str()));
            prev = None;
        }
        let body = body(v, prev, &cols(&v.table));
        writeln!(
            out,
            "  {:<16} {:<40} {body}",
            v.status.name(),
            where_text(v)
        )?;
        if let Some(vals) = &v.values {
            prev = Some(vals);
        }
    }
    Ok(())
}

/// Writes one JSON object per version.
pub fn write_jsonl(versions: &[HistoryItem], out: &mut dyn Write) -> io::Result<()> {
    for i in versions {
        serde_json::to_writer(&mut *out, &version_json(&i.version, &i.file))?;
        writeln!(out)?;
    }
    Ok(())
}
