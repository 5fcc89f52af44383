//! `datam live edit` and `datam live undo`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use datam_live::journal::State;
use datam_live::{ChangeSet, CommitOutcome, Error, Journal, Plan, PlanOptions, StepKind, Value};

use super::{Conn, Timeouts};

/// `datam live edit` arguments.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["dry_run", "commit"])))]
pub struct Args {
    #[command(flatten)]
    conn: Conn,
    /// The table (name or schema.name).
    #[arg(long)]
    table: String,
    /// The change file (JSON: updates, inserts, deletes).
    #[arg(long)]
    changes: PathBuf,
    /// Print the plan (before/after per row and the exact SQL); write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Run the plan in one guarded transaction.
    #[arg(long)]
    commit: bool,
    /// Address rows of a table without a key by all their values.
    #[arg(long)]
    all_columns_key: bool,
    #[command(flatten)]
    timeouts: Timeouts,
}

/// `datam live undo` arguments.
#[derive(Debug, clap::Args)]
pub struct UndoArgs {
    #[command(flatten)]
    conn: Conn,
    /// The ID of a committed plan (printed by `datam live edit --commit`).
    plan_id: String,
    /// Print the undo plan; write nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    timeouts: Timeouts,
}

/// `datam live edit URL --table T --changes FILE (--dry-run | --commit)`.
pub fn run(a: &Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let bytes = std::fs::read(&a.changes)
        .with_context(|| format!("cannot read {}", a.changes.display()))?;
    let changes = ChangeSet::from_json(&bytes).with_context(|| a.changes.display().to_string())?;
    let (_, mut s) = a.conn.open()?;
    if a.commit && a.conn.read_only {
        return Err(Error::ReadOnly.into());
    }
    let journal = Journal::open_default()?;
    if let Some(entry) = s.journaled(&journal, &a.table, &changes)?
        && entry.state != State::Pending
    {
        writeln!(
            out,
            "plan {} was already committed ({:?}): nothing done",
            entry.id, entry.state
        )?;
        return Ok(());
    }
    let plan = s
        .plan(
            &a.table,
            &changes,
            PlanOptions {
                all_columns_key: a.all_columns_key,
            },
        )
        .with_context(|| a.changes.display().to_string())?;
    print_plan(&plan, out)?;
    if a.dry_run {
        writeln!(out, "dry run: nothing written")?;
        return Ok(());
    }
    report(s.commit(&plan, &journal, &a.timeouts.options()), out)
}

fn report(r: datam_live::Result<CommitOutcome>, out: &mut dyn Write) -> anyhow::Result<()> {
    match r {
        Ok(CommitOutcome::Committed { id, rows }) => {
            writeln!(out, "committed plan {id}: {rows} row(s) written")?;
            Ok(())
        }
        Ok(CommitOutcome::AlreadyCommitted { id }) => {
            writeln!(out, "plan {id} was already committed: nothing done")?;
            Ok(())
        }
        Err(Error::Conflict { conflicts }) => {
            for c in &conflicts {
                let key: Vec<String> = c
                    .key
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.display()))
                    .collect();
                writeln!(
                    out,
                    "conflict {}: {} ({})",
                    c.place,
                    c.reason,
                    key.join(", ")
                )?;
                match &c.current {
                    Some(vals) => writeln!(
                        out,
                        "  now: {}",
                        vals.iter()
                            .map(Value::display)
                            .collect::<Vec<_>>()
                            .join(" | ")
                    )?,
                    None => writeln!(out, "  now: (no such row)")?,
                }
            }
            bail!(Error::Conflict { conflicts })
        }
        Err(e) => Err(e.into()),
    }
}

/// `datam live undo URL PLAN_ID`.
pub fn undo(a: &UndoArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let (_, mut s) = a.conn.open()?;
    let journal = Journal::open_default()?;
    let plan = s.undo_plan(&journal, &a.plan_id)?;
    print_plan(&plan, out)?;
    if a.dry_run {
        writeln!(out, "dry run: nothing written")?;
        return Ok(());
    }
    report(s.commit(&plan, &journal, &a.timeouts.options()), out)
}

fn print_plan(plan: &Plan, out: &mut dyn Write) -> anyhow::Result<()> {
    let count = |k: StepKind| plan.steps.iter().filter(|s| s.kind == k).count();
    writeln!(
        out,
        "plan {} on {}, table {} (key: {}): {} update(s), {} insert(s), {} delete(s)",
        plan.id,
        plan.target,
        plan.table,
        plan.key.join(", "),
        count(StepKind::Update),
        count(StepKind::Insert),
        count(StepKind::Delete)
    )?;
    for s in &plan.steps {
        let kind = match s.kind {
            StepKind::Update => "UPDATE",
            StepKind::Insert => "INSERT",
            StepKind::Delete => "DELETE",
        };
        let xmin = s
            .before
            .as_ref()
            .and_then(|b| b.xmin.as_deref())
            .map(|x| format!(" (row version xmin {x})"))
            .unwrap_or_default();
        writeln!(out, "{}: {kind}{xmin}", s.place)?;
        for d in &s.diffs {
            let show =
                |v: &Option<Value>| v.as_ref().map_or_else(|| "-".to_owned(), Value::display);
            writeln!(
                out,
                "  {}: {} -> {}",
                d.column,
                show(&d.before),
                show(&d.after)
            )?;
        }
        writeln!(out, "  SQL: {};", s.sql)?;
    }
    Ok(())
}
