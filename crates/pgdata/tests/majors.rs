//! pg_control of real clusters of every installed major (13–18), and the
//! catalog bootstrap of each (databases, tables, attribute layouts).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use testkit::pg::{Cluster, ClusterOptions, PgInstall, StopMode, major_trials};

/// (major, PG_CONTROL_VERSION, CATALOG_VERSION_NO) of the release trees.
const VERSIONS: [(u32, u32, u32); 6] = [
    (13, 1300, 202007201),
    (14, 1300, 202107181),
    (15, 1300, 202209061),
    (16, 1300, 202307071),
    (17, 1700, 202406281),
    (18, 1800, 202506291),
];

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

fn control_and_catalog(install: &PgInstall) -> Result<(), String> {
    let mut c = Cluster::start(
        install,
        ClusterOptions::default().initdb_arg("--data-checksums"),
    )
    .map_err(e)?;
    let sysid = c
        .psql("SELECT system_identifier FROM pg_control_system()")
        .map_err(e)?;
    c.psql("CREATE DATABASE other; CREATE TABLE public.k (a int, b text, c float8);")
        .map_err(e)?;
    c.psql_db(
        "other",
        "CREATE SCHEMA s; CREATE TABLE s.only_here (x int);",
    )
    .map_err(e)?;
    let relfilenode = c.psql("SELECT pg_relation_filenode('k')").map_err(e)?;
    c.stop(StopMode::Fast).map_err(e)?;
    let before = testkit::hash_tree(c.data_dir()).map_err(e)?;

    let dir = pgdata::DataDir::open(c.data_dir()).map_err(e)?;
    let ctl = dir.control();
    let &(_, ver, cat) = VERSIONS.iter().find(|v| v.0 == install.major).unwrap();
    if !ctl.crc_valid()
        || ctl.pg_control_version != ver
        || ctl.catalog_version_no != cat
        || ctl.state != pgdata::DbState::ShutDown
        || ctl.system_identifier.to_string() != sysid.trim()
        || ctl.block_size_bytes != 8192
        || ctl.data_checksum_version != 1
        || ctl.timeline != 1
        || ctl.checkpoint_lsn != ctl.redo_lsn
    {
        return Err(format!("pg_control of {}: {ctl:?}", install.major));
    }
    let mut w = Vec::new();
    let dbs = pgdata::catalog::databases(&dir, &mut w).map_err(e)?;
    let names: Vec<&str> = dbs.iter().map(|d| d.name.as_str()).collect();
    for want in ["postgres", "template1", "template0", "other"] {
        if !names.contains(&want) {
            return Err(format!("databases: {names:?}"));
        }
    }
    let pg = dbs.iter().find(|d| d.name == "postgres").unwrap().clone();
    let cat = pgdata::catalog::Catalog::open(&dir, pg).map_err(e)?;
    let k = cat.find_table("public", "k").ok_or("table k not found")?;
    if k.relfilenode.to_string() != relfilenode.trim() {
        return Err(format!("relfilenode {} vs {relfilenode}", k.relfilenode));
    }
    let (attrs, _) = cat.attributes(k.oid).map_err(e)?;
    let got: Vec<(String, i16, u8)> = attrs
        .iter()
        .map(|a| (a.attname.clone(), a.attlen, a.attalign))
        .collect();
    let want = vec![
        ("a".to_string(), 4, b'i'),
        ("b".to_string(), -1, b'i'),
        ("c".to_string(), 8, b'd'),
    ];
    if got != want {
        return Err(format!("attributes {got:?}"));
    }
    if cat.types.type_info_name(25) != Some("textout") {
        return Err("pg_type/pg_proc: text's output function".into());
    }
    if !cat.warnings.is_empty() {
        return Err(format!("warnings: {:?}", cat.warnings));
    }
    let other = dbs.iter().find(|d| d.name == "other").unwrap().clone();
    let cat2 = pgdata::catalog::Catalog::open(&dir, other).map_err(e)?;
    if cat2.find_table("s", "only_here").is_none() {
        return Err("s.only_here not found in database other".into());
    }
    if testkit::hash_tree(c.data_dir()).map_err(e)? != before {
        return Err("data directory changed".into());
    }
    Ok(())
}

fn main() {
    let trials = major_trials(
        "control_and_catalog",
        &[13, 14, 15, 16, 17, 18],
        control_and_catalog,
    );
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit();
}
