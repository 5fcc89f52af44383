//! Column names, the INTEGER PRIMARY KEY column and the primary key of a
//! `CREATE TABLE` statement, read leniently (enough for naming columns and
//! putting the rowid back; not a SQL parser).

/// What [`columns`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// Column names in order.
    pub names: Vec<String>,
    /// The rowid-alias column (`INTEGER PRIMARY KEY`, not `DESC`).
    pub ipk: Option<usize>,
    /// `WITHOUT ROWID`.
    pub without_rowid: bool,
    /// Primary-key columns, in key order.
    pub pk: Vec<usize>,
}

/// Splits `s` at top-level commas (outside parentheses and quotes).
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0usize);
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q || (q == '[' && c == ']') => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`' | '[') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(s.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s.get(start..).unwrap_or(""));
    out
}

fn unquote(tok: &str) -> String {
    let t = tok.trim();
    let inner = t
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| t.strip_prefix('`').and_then(|x| x.strip_suffix('`')))
        .or_else(|| t.strip_prefix('[').and_then(|x| x.strip_suffix(']')))
        .or_else(|| t.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')));
    inner.map_or_else(|| t.to_string(), |x| x.replace("\"\"", "\""))
}

/// The first token of a column definition (quoted names may contain spaces).
fn first_token(def: &str) -> &str {
    let d = def.trim_start();
    let close = match d.chars().next() {
        Some('"') => Some('"'),
        Some('`') => Some('`'),
        Some('[') => Some(']'),
        _ => None,
    };
    match close {
        Some(c) => d
            .get(1..)
            .and_then(|r| r.find(c))
            .and_then(|e| d.get(..e + 2))
            .unwrap_or(d),
        None => d
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or(""),
    }
}

fn words_upper(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Reads a `CREATE TABLE` statement.
pub fn columns(sql: &str) -> Columns {
    let mut c = Columns::default();
    let (Some(open), Some(close)) = (sql.find('('), sql.rfind(')')) else {
        return c;
    };
    c.without_rowid = words_upper(sql.get(close..).unwrap_or("")).contains("WITHOUT ROWID");
    let body = sql.get(open + 1..close).unwrap_or("");
    let mut types = Vec::new();
    let mut table_pk: Vec<String> = Vec::new();
    for def in split_top(body) {
        let tok = first_token(def);
        let up = words_upper(def);
        let kw = tok.to_uppercase();
        if matches!(
            kw.as_str(),
            "CONSTRAINT" | "PRIMARY" | "UNIQUE" | "CHECK" | "FOREIGN"
        ) {
            if let (Some(pk_at), true) = (up.find("PRIMARY KEY"), kw != "UNIQUE") {
                let rest = def
                    .get(def.to_uppercase().find("PRIMARY").unwrap_or(0)..)
                    .unwrap_or("");
                let _ = pk_at;
                if let (Some(o), Some(e)) = (rest.find('('), rest.find(')')) {
                    table_pk = split_top(rest.get(o + 1..e).unwrap_or(""))
                        .iter()
                        .map(|x| unquote(first_token(x)))
                        .collect();
                }
            }
            continue;
        }
        let name = unquote(tok);
        let after = words_upper(def.trim_start().get(tok.len()..).unwrap_or(""));
        if after.starts_with("INTEGER PRIMARY KEY")
            && !after.starts_with("INTEGER PRIMARY KEY DESC")
        {
            c.ipk = Some(c.names.len());
        }
        if after.contains("PRIMARY KEY") {
            c.pk = vec![c.names.len()];
        }
        types.push(after.split(' ').next().unwrap_or("").to_string());
        c.names.push(name);
    }
    if !table_pk.is_empty() {
        c.pk = table_pk
            .iter()
            .filter_map(|n| c.names.iter().position(|x| x.eq_ignore_ascii_case(n)))
            .collect();
        if let [only] = c.pk.as_slice()
            && types.get(*only).is_some_and(|t| t == "INTEGER")
            && !c.without_rowid
        {
            c.ipk = Some(*only);
        }
    }
    if c.without_rowid {
        c.ipk = None;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rowid_alias_and_names() {
        let c =
            columns("CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INT, note TEXT)");
        assert_eq!(c.names, ["id", "name", "age", "note"]);
        assert_eq!(c.ipk, Some(0));
        assert!(!c.without_rowid);
    }

    #[test]
    fn table_constraint_and_quotes() {
        let c = columns(
            "CREATE TABLE \"odd name\"(\"a b\" INTEGER, [c] TEXT DEFAULT 'x,y', PRIMARY KEY(\"a b\"))",
        );
        assert_eq!(c.names, ["a b", "c"]);
        assert_eq!(c.ipk, Some(0));
        let d = columns("CREATE TABLE t(a INTEGER PRIMARY KEY DESC, b)");
        assert_eq!(d.ipk, None);
    }

    #[test]
    fn without_rowid_pk() {
        let c = columns("CREATE TABLE kv(v TEXT, k TEXT, PRIMARY KEY(k)) WITHOUT ROWID");
        assert!(c.without_rowid);
        assert_eq!(c.pk, [1]);
        assert_eq!(c.ipk, None);
    }
}
