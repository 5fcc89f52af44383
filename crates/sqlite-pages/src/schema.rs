//! The schema: `sqlite_master` rows and CREATE TABLE column lists.
//!
//! `sqlite_master(type TEXT, name TEXT, tbl_name TEXT, rootpage INTEGER, sql TEXT)`
//! is the table b-tree rooted at page 1. Only what recovery needs is parsed
//! from the SQL: column names and declared types (→ affinity), the INTEGER
//! PRIMARY KEY rowid alias, WITHOUT ROWID and its primary-key order.

use crate::PageNo;

/// Column affinity (datatype3 §3.1), from the declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Affinity {
    /// Contains "INT".
    Integer,
    /// Contains "CHAR", "CLOB" or "TEXT".
    Text,
    /// Contains "BLOB" or no type.
    Blob,
    /// Contains "REAL", "FLOA" or "DOUB".
    Real,
    /// Anything else.
    Numeric,
}

impl Affinity {
    /// The affinity rules in order.
    pub fn from_decl(decl: &str) -> Self {
        let d = decl.to_ascii_uppercase();
        if d.contains("INT") {
            Self::Integer
        } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
            Self::Text
        } else if d.contains("BLOB") || d.trim().is_empty() {
            Self::Blob
        } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
            Self::Real
        } else {
            Self::Numeric
        }
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name (unquoted).
    pub name: String,
    /// Declared type as written.
    pub decl_type: String,
    /// Its affinity.
    pub affinity: Affinity,
    /// Declared NOT NULL.
    pub not_null: bool,
}

/// A table known from the schema (live, or carved from free space when dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Table name.
    pub name: String,
    /// Root page (as recorded; may have been reused if dropped).
    pub root: PageNo,
    /// Columns in schema order.
    pub columns: Vec<Column>,
    /// Index of the INTEGER PRIMARY KEY column (rowid alias), if any.
    pub rowid_alias: Option<usize>,
    /// WITHOUT ROWID table (stored in an index b-tree).
    pub without_rowid: bool,
    /// For WITHOUT ROWID: schema column index of each record field, in record order.
    pub record_order: Vec<usize>,
    /// The CREATE statement.
    pub sql: String,
    /// Carved from free space of `sqlite_master` (the table was dropped).
    pub dropped: bool,
    /// Schema indexes of the PRIMARY KEY columns, in key order (empty when
    /// there is none); `history` keys WITHOUT ROWID rows by them.
    pub primary_key: Vec<usize>,
    /// For a virtual table: its module (`fts4`, `rtree`, ...). Its rows are
    /// rebuilt from the shadow tables; it has no b-tree of its own.
    pub module: Option<String>,
}

/// A `sqlite_master` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterRow {
    /// "table", "index", "view", "trigger".
    pub kind: String,
    /// Object name.
    pub name: String,
    /// Table the object belongs to.
    pub tbl_name: String,
    /// Root page (0 for views/triggers).
    pub root: PageNo,
    /// The SQL text (may be empty for auto-indexes).
    pub sql: String,
}

/// A token of CREATE TABLE text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Quoted(String),
    Open,
    Close,
    Comma,
    Other,
}

fn tokenize(sql: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let cs: Vec<char> = sql.chars().collect();
    let mut i = 0usize;
    let at = |i: usize| cs.get(i).copied();
    while let Some(c) = at(i) {
        match c {
            c if c.is_whitespace() => i += 1,
            '-' if at(i + 1) == Some('-') => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            '/' if at(i + 1) == Some('*') => {
                i += 2;
                while at(i).is_some() && !(at(i) == Some('*') && at(i + 1) == Some('/')) {
                    i += 1;
                }
                i += 2;
            }
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '\'' | '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let mut s = String::new();
                i += 1;
                while let Some(d) = at(i) {
                    if d == close {
                        if close != ']' && at(i + 1) == Some(close) {
                            s.push(d);
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    s.push(d);
                    i += 1;
                }
                out.push(Tok::Quoted(s));
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii() => {
                let mut s = String::new();
                while let Some(d) = at(i) {
                    if d.is_alphanumeric() || d == '_' || d == '$' || !d.is_ascii() {
                        s.push(d);
                        i += 1;
                    } else {
                        break;
                    }
                }
                out.push(Tok::Word(s));
            }
            _ => {
                out.push(Tok::Other);
                i += 1;
            }
        }
    }
    out
}

fn word_is(t: Option<&Tok>, w: &str) -> bool {
    matches!(t, Some(Tok::Word(s)) if s.eq_ignore_ascii_case(w))
}

fn tok_name(t: &Tok) -> Option<String> {
    match t {
        Tok::Word(s) | Tok::Quoted(s) => Some(s.clone()),
        _ => None,
    }
}

const CONSTRAINT_WORDS: &[&str] = &[
    "CONSTRAINT",
    "PRIMARY",
    "NOT",
    "NULL",
    "UNIQUE",
    "CHECK",
    "DEFAULT",
    "COLLATE",
    "REFERENCES",
    "GENERATED",
    "AS",
];

/// Splits the column list that opens at `toks[open]` at its top-level
/// commas; also returns the index of its closing parenthesis.
fn split_body(toks: &[Tok], open: usize) -> Option<(Vec<Vec<Tok>>, usize)> {
    let mut depth = 0i32;
    let mut parts: Vec<Vec<Tok>> = vec![Vec::new()];
    for (i, t) in toks.iter().enumerate().skip(open + 1) {
        match t {
            Tok::Open => depth += 1,
            Tok::Close if depth == 0 => return Some((parts, i)),
            Tok::Close => depth -= 1,
            Tok::Comma if depth == 0 => {
                parts.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if let Some(p) = parts.last_mut() {
            p.push(t.clone());
        }
    }
    None
}

/// The column names of a table constraint's `PRIMARY KEY (...)`, if it has one.
fn constraint_pk_columns(part: &[Tok]) -> Option<Vec<String>> {
    let p = part.iter().position(|t| word_is(Some(t), "PRIMARY"))?;
    let mut cols = Vec::new();
    let mut d = 0;
    for t in part.iter().skip(p) {
        match t {
            Tok::Open => d += 1,
            Tok::Close => {
                d -= 1;
                if d == 0 {
                    break;
                }
            }
            t if d == 1 => {
                if let Some(n) = tok_name(t)
                    && !["ASC", "DESC", "COLLATE"]
                        .iter()
                        .any(|k| n.eq_ignore_ascii_case(k))
                {
                    cols.push(n);
                }
            }
            _ => {}
        }
    }
    Some(cols)
}

/// A column definition: the column, and whether it is declared `PRIMARY
/// KEY` (`Some(desc)`).
fn column_def(part: &[Tok]) -> Option<(Column, Option<bool>)> {
    let cname = tok_name(part.first()?)?;
    let mut ty = Vec::new();
    let mut i = 1;
    while let Some(t) = part.get(i) {
        match t {
            Tok::Word(w) if CONSTRAINT_WORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => break,
            Tok::Word(w) | Tok::Quoted(w) => ty.push(w.clone()),
            Tok::Open => {
                // (size) of the type: skip to the close paren.
                while part.get(i).is_some_and(|t| *t != Tok::Close) {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let decl = ty.join(" ");
    let rest = part.get(i..).unwrap_or_default();
    let pk = rest
        .iter()
        .position(|t| word_is(Some(t), "PRIMARY"))
        .map(|p| word_is(rest.get(p + 2), "DESC"));
    let not_null = rest
        .windows(2)
        .any(|w| word_is(w.first(), "NOT") && word_is(w.get(1), "NULL"));
    let col = Column {
        name: cname,
        affinity: Affinity::from_decl(&decl),
        decl_type: decl,
        not_null,
    };
    Some((col, pk))
}

/// Positions in `columns` of the named columns, in order, each once.
fn positions(columns: &[Column], names: &[String]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for i in names
        .iter()
        .filter_map(|p| columns.iter().position(|c| c.name.eq_ignore_ascii_case(p)))
    {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Parses a CREATE TABLE statement into a [`Table`] (root page and name from
/// the caller). `None` for a statement that is not a plain CREATE TABLE with a
/// column list (virtual tables, garbage).
pub fn parse_create_table(name: &str, root: PageNo, sql: &str) -> Option<Table> {
    let toks = tokenize(sql);
    if !word_is(toks.first(), "CREATE") {
        return None;
    }
    if toks
        .iter()
        .take(4)
        .any(|t| matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case("VIRTUAL")))
    {
        return None;
    }
    let open = toks.iter().position(|t| *t == Tok::Open)?;
    let (parts, close) = split_body(&toks, open)?;
    let tail = toks.get(close + 1..).unwrap_or_default();
    let without_rowid = tail
        .windows(2)
        .any(|w| word_is(w.first(), "WITHOUT") && word_is(w.get(1), "ROWID"));
    let mut columns = Vec::new();
    let mut pk_cols: Vec<String> = Vec::new();
    let mut rowid_alias = None;
    let mut pk_from_constraint = false;
    for part in &parts {
        let first = part.first()?;
        let is_tc = matches!(first, Tok::Word(w) if ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"].iter().any(|k| w.eq_ignore_ascii_case(k)));
        if is_tc {
            if let Some(cols) = constraint_pk_columns(part) {
                pk_from_constraint = true;
                pk_cols.extend(cols);
            }
            continue;
        }
        let (col, pk) = column_def(part)?;
        if let Some(desc) = pk {
            pk_cols.push(col.name.clone());
            if col.decl_type.eq_ignore_ascii_case("INTEGER") && !desc {
                rowid_alias = Some(columns.len());
            }
        }
        columns.push(col);
    }
    if columns.is_empty() {
        return None;
    }
    // A table-constraint PRIMARY KEY(x) on a single INTEGER column is also an alias.
    if rowid_alias.is_none()
        && pk_from_constraint
        && pk_cols.len() == 1
        && !without_rowid
        && let Some(i) = columns.iter().position(|c| {
            pk_cols
                .first()
                .is_some_and(|p| p.eq_ignore_ascii_case(&c.name))
        })
        && columns
            .get(i)
            .is_some_and(|c| c.decl_type.eq_ignore_ascii_case("INTEGER"))
    {
        rowid_alias = Some(i);
    }
    let (rowid_alias, record_order) = if without_rowid {
        let mut order: Vec<usize> = pk_cols
            .iter()
            .filter_map(|p| columns.iter().position(|c| c.name.eq_ignore_ascii_case(p)))
            .collect();
        for i in 0..columns.len() {
            if !order.contains(&i) {
                order.push(i);
            }
        }
        (None, order)
    } else {
        (rowid_alias, (0..columns.len()).collect())
    };
    let primary_key = positions(&columns, &pk_cols);
    Some(Table {
        name: name.to_string(),
        root,
        columns,
        rowid_alias,
        without_rowid,
        record_order,
        sql: sql.to_string(),
        dropped: false,
        primary_key,
        module: None,
    })
}

/// Parses `CREATE VIRTUAL TABLE name USING module(args)`: the module name
/// (lower case) and the column names (arguments without `=`, first token).
pub fn parse_virtual_table(name: &str, sql: &str) -> Option<Table> {
    let toks = tokenize(sql);
    if !word_is(toks.first(), "CREATE") || !word_is(toks.get(1), "VIRTUAL") {
        return None;
    }
    let using = toks.iter().position(|t| word_is(Some(t), "USING"))?;
    let module = match toks.get(using + 1)? {
        Tok::Word(w) => w.to_ascii_lowercase(),
        _ => return None,
    };
    let mut columns = Vec::new();
    let mut depth = 0i32;
    let mut cur: Vec<Tok> = Vec::new();
    for t in toks.iter().skip(using + 2) {
        match t {
            Tok::Open => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            Tok::Close => {
                depth -= 1;
                if depth == 0 {
                    push_vcol(&mut columns, &cur);
                    break;
                }
            }
            Tok::Comma if depth == 1 => {
                push_vcol(&mut columns, &cur);
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(t.clone());
    }
    Some(Table {
        name: name.to_string(),
        root: PageNo(0),
        record_order: (0..columns.len()).collect(),
        columns,
        rowid_alias: None,
        without_rowid: false,
        sql: sql.to_string(),
        dropped: false,
        primary_key: Vec::new(),
        module: Some(module),
    })
}

fn push_vcol(columns: &mut Vec<Column>, arg: &[Tok]) {
    if arg.contains(&Tok::Other) || arg.is_empty() {
        return; // option such as tokenize=porter
    }
    if let Some(n) = arg.first().and_then(tok_name) {
        columns.push(Column {
            name: n,
            decl_type: String::new(),
            affinity: Affinity::Blob,
            not_null: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_alias() {
        let t = parse_create_table("people", PageNo(2), "CREATE TABLE people (id INTEGER PRIMARY KEY, \"full name\" VARCHAR(20) NOT NULL, w REAL, b, CHECK (w > 0))").unwrap();
        let names: Vec<_> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "full name", "w", "b"]);
        assert_eq!(t.rowid_alias, Some(0));
        assert_eq!(t.columns[1].affinity, Affinity::Text);
        assert!(t.columns[1].not_null);
        assert_eq!(t.columns[2].affinity, Affinity::Real);
        assert_eq!(t.columns[3].affinity, Affinity::Blob);
    }

    #[test]
    fn without_rowid_order() {
        let t = parse_create_table(
            "kv",
            PageNo(3),
            "CREATE TABLE kv(a TEXT, k INT, v, PRIMARY KEY(k, a)) WITHOUT ROWID",
        )
        .unwrap();
        assert!(t.without_rowid);
        assert_eq!(t.record_order, vec![1, 0, 2]);
        assert_eq!(t.rowid_alias, None);
    }

    #[test]
    fn odd_names_and_non_alias() {
        let t = parse_create_table(
            "x",
            PageNo(2),
            "CREATE TABLE [x] ('a b' INT PRIMARY KEY, `c` INTEGER, -- comment, d\n [e,f] TEXT)",
        )
        .unwrap();
        assert_eq!(t.columns.len(), 3);
        assert_eq!(t.rowid_alias, None); // INT is not INTEGER
        assert_eq!(t.columns[2].name, "e,f");
        assert!(
            parse_create_table("v", PageNo(0), "CREATE VIRTUAL TABLE v USING fts4(a)").is_none()
        );
        assert!(parse_create_table("v", PageNo(0), "garbage").is_none());
    }

    proptest::proptest! {
        #[test]
        fn no_panic(s in ".{0,200}") {
            let _ = parse_create_table("t", PageNo(2), &format!("CREATE TABLE t({s}"));
        }
    }

    /// The CREATE TABLE readings `history` relies on (names, rowid alias,
    /// primary key), formerly checked on the CLI's own parser.
    #[test]
    fn history_keys() {
        let c = parse_create_table(
            "people",
            PageNo(2),
            "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INT, note TEXT)",
        )
        .unwrap();
        let names: Vec<&str> = c.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "name", "age", "note"]);
        assert_eq!(c.rowid_alias, Some(0));
        assert_eq!(c.primary_key, [0]);
        let c = parse_create_table(
            "odd name",
            PageNo(2),
            "CREATE TABLE \"odd name\"(\"a b\" INTEGER, [c] TEXT DEFAULT 'x,y', PRIMARY KEY(\"a b\"))",
        )
        .unwrap();
        let names: Vec<&str> = c.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a b", "c"]);
        assert_eq!(c.rowid_alias, Some(0));
        let d = parse_create_table(
            "t",
            PageNo(2),
            "CREATE TABLE t(a INTEGER PRIMARY KEY DESC, b)",
        )
        .unwrap();
        assert_eq!(d.rowid_alias, None);
        let kv = parse_create_table(
            "kv",
            PageNo(2),
            "CREATE TABLE kv(v TEXT, k TEXT, PRIMARY KEY(k)) WITHOUT ROWID",
        )
        .unwrap();
        assert!(kv.without_rowid);
        assert_eq!(kv.primary_key, [1]);
        assert_eq!(kv.rowid_alias, None);
    }
}
