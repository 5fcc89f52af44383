//! Expands the sources of `add` into named files and directories.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use datam_core::job::{Diagnostic, JobCtx};

use crate::error::{Error, io};
use crate::layout::PgSizes;
use crate::manifest::DirEntry;

/// One file to snapshot.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub name: String,
    pub path: PathBuf,
    pub mode: u32,
    /// Page sizes and the path relative to the data directory, inside one.
    pub pg: Option<(PgSizes, String)>,
}

/// Files (in name order) and directories named by `sources`.
pub(crate) fn expand(
    sources: &[PathBuf],
    ctx: &JobCtx,
) -> Result<(Vec<SourceFile>, Vec<DirEntry>), Error> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for src in sources {
        let name = src
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::BadSource { path: src.clone() })?
            .to_string();
        let meta = std::fs::metadata(src).map_err(io(src))?;
        if meta.is_dir() {
            let pg = pg_sizes(src);
            dirs.push(DirEntry {
                name: name.clone(),
                mode: meta.permissions().mode() & 0o7777,
            });
            walk_dir(src, &name, "", pg, &mut files, &mut dirs, ctx)?;
        } else {
            files.push(SourceFile {
                name,
                path: src.clone(),
                mode: meta.permissions().mode() & 0o7777,
                pg: None,
            });
        }
    }
    let mut seen = BTreeSet::new();
    for n in files
        .iter()
        .map(|f| &f.name)
        .chain(dirs.iter().map(|d| &d.name))
    {
        if !seen.insert(n.clone()) {
            return Err(Error::NameClash { name: n.clone() });
        }
    }
    Ok((files, dirs))
}

fn pg_sizes(dir: &Path) -> Option<PgSizes> {
    let ev = evidence::Evidence::open(dir.join("global/pg_control")).ok()?;
    PgSizes::from_control(ev.bytes())
}

fn walk_dir(
    dir: &Path,
    name: &str,
    rel: &str,
    pg: Option<PgSizes>,
    files: &mut Vec<SourceFile>,
    dirs: &mut Vec<DirEntry>,
    ctx: &JobCtx,
) -> Result<(), Error> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<_, _>>()
        .map_err(io(dir))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let path = e.path();
        let Some(base) = e.file_name().to_str().map(str::to_string) else {
            return Err(Error::BadSource { path });
        };
        let child_name = format!("{name}/{base}");
        let child_rel = if rel.is_empty() {
            base
        } else {
            format!("{rel}/{base}")
        };
        let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_dir() {
            dirs.push(DirEntry {
                name: child_name.clone(),
                mode,
            });
            walk_dir(&path, &child_name, &child_rel, pg, files, dirs, ctx)?;
        } else if meta.is_file() {
            files.push(SourceFile {
                name: child_name,
                path,
                mode,
                pg: pg.map(|s| (s, child_rel)),
            });
        } else {
            ctx.diagnostic(
                Diagnostic::warning(
                    "snapshot.skipped",
                    "not a regular file or directory; skipped",
                )
                .in_file(path.display().to_string()),
            );
        }
    }
    Ok(())
}
