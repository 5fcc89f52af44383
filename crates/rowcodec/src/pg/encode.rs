//! Encoders for `COPY` text, `COPY` CSV and SQL literals
//! (`src/backend/commands/copyto.c`).

use super::TypeCatalog;

/// Appends `s` escaped as `COPY ... TO STDOUT` (text format, tab
/// delimiter) escapes a column value: backslash, and the control
/// characters BS, FF, LF, CR, TAB, VT as `\b \f \n \r \t \v`. A NULL column
/// is written by the caller as `\N`.
///
/// ```
/// let mut out = String::new();
/// rowcodec::pg::copy_text_escape("a\tb\\c\n", &mut out);
/// assert_eq!(out, "a\\tb\\\\c\\n");
/// ```
pub fn copy_text_escape(s: &str, out: &mut String) {
    out.reserve(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c => out.push(c),
        }
    }
}

/// Appends `s` as `COPY ... (FORMAT csv)` writes a non-NULL value with the
/// default delimiter `,` and quote `"`: quoted when empty (an unquoted empty
/// field means NULL) or when it contains `,`, `"`, CR or LF; quotes inside
/// are doubled. A NULL column is written by the caller as nothing.
///
/// The server also quotes the value `\.` when the row has a single column:
/// use [`csv_quote_single_column`] for such rows.
///
/// ```
/// let mut out = String::new();
/// rowcodec::pg::csv_quote("say \"hi\", then", &mut out);
/// assert_eq!(out, "\"say \"\"hi\"\", then\"");
/// ```
pub fn csv_quote(s: &str, out: &mut String) {
    let need = s.is_empty() || s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !need {
        out.push_str(s);
        return;
    }
    out.push('"');
    for ch in s.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
}

/// [`csv_quote`] for a row with a single column: the server then also
/// quotes the value `\.`, which would otherwise read as the end-of-data
/// marker.
///
/// ```
/// let mut out = String::new();
/// rowcodec::pg::csv_quote_single_column("\\.", &mut out);
/// assert_eq!(out, "\"\\.\"");
/// ```
pub fn csv_quote_single_column(s: &str, out: &mut String) {
    if s == "\\." {
        out.push_str("\"\\.\"");
    } else {
        csv_quote(s, out);
    }
}

/// Type names that must be double-quoted after `::` because the grammar
/// treats them as keywords (`'x'::char` would mean `bpchar(1)`).
const KEYWORD_TYPE_NAMES: &[&str] = &[
    "bigint",
    "bit",
    "boolean",
    "char",
    "character",
    "dec",
    "decimal",
    "float",
    "int",
    "integer",
    "interval",
    "national",
    "nchar",
    "none",
    "numeric",
    "precision",
    "real",
    "setof",
    "smallint",
    "time",
    "timestamp",
    "varchar",
    "varying",
    "json",
];

/// A typed SQL literal for `text` (a value printed by [`crate::pg::output`]),
/// e.g. `'1.50'::numeric`, for `INSERT` statements that psql can load. The
/// type name is quoted when needed; an unknown OID gives an untyped literal.
///
/// ```
/// use rowcodec::pg::{sql_literal, TypeMap};
/// let cat = TypeMap::builtin();
/// assert_eq!(sql_literal(&cat, 25, "it's"), "'it''s'::text");
/// assert_eq!(sql_literal(&cat, 18, "a"), "'a'::\"char\"");
/// ```
pub fn sql_literal(cat: &dyn TypeCatalog, type_oid: u32, text: &str) -> String {
    let mut out = String::with_capacity(text.len().saturating_add(16));
    out.push('\'');
    for ch in text.chars() {
        if ch == '\'' {
            out.push('\'');
        }
        out.push(ch);
    }
    out.push('\'');
    if let Some(info) = cat.type_info(type_oid) {
        out.push_str("::");
        push_ident(&info.name, &mut out);
    }
    out
}

/// `quote_ident` for a type name (keywords that matter for types included).
fn push_ident(name: &str, out: &mut String) {
    let plain = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'$')
        && !KEYWORD_TYPE_NAMES.contains(&name);
    if plain {
        out.push_str(name);
        return;
    }
    out.push('"');
    for ch in name.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
}
