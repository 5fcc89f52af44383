//! The change file: what the user wants to change, by key.
//!
//! ```json
//! {
//!   "updates": [ { "key": { "id": 3 }, "set": { "price": "12.50", "note": null } } ],
//!   "inserts": [ { "id": 10, "name": "new", "price": "1.00" } ],
//!   "deletes": [ { "key": { "id": 4 } } ]
//! }
//! ```
//!
//! Values are JSON: `null`, booleans, numbers (kept as written, so
//! `12.50` stays `12.50`), strings (the type's input text, e.g.
//! `"2024-01-31"`), objects or arrays (their JSON text, for json/jsonb
//! columns), and `{"blob_hex": "00ff"}` for bytes (bytea / BLOB).
//! A desktop grid builds the same [`ChangeSet`] from its inline edits.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{ChangeError, Error, Place, Result};

/// One value in a change file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum ChangeValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string.
    String(String),
    /// An object or array, as written (JSON text).
    Json(String),
    /// `{"blob_hex": "…"}`.
    Blob(Vec<u8>),
}

impl ChangeValue {
    /// The value as PostgreSQL input text (None for null).
    pub fn pg_input(&self) -> Option<String> {
        match self {
            Self::Null => None,
            Self::Bool(b) => Some(b.to_string()),
            Self::Number(s) | Self::String(s) | Self::Json(s) => Some(s.clone()),
            Self::Blob(b) => Some(format!("\\x{}", hex::encode(b))),
        }
    }

    /// The value as the change file wrote it (for messages).
    pub fn shown(&self) -> String {
        match self {
            Self::Null => "null".into(),
            Self::Bool(b) => b.to_string(),
            Self::Number(s) | Self::Json(s) => s.clone(),
            Self::String(s) => format!("{s:?}"),
            Self::Blob(b) => format!("{{\"blob_hex\": \"{}\"}}", hex::encode(b)),
        }
    }
}

/// Column name → value, sorted by name.
pub type Values = BTreeMap<String, ChangeValue>;

/// An update: the row's key and the new values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Update {
    /// The key columns' values (all columns with `--all-columns-key`).
    pub key: Values,
    /// The new values.
    pub set: Values,
}

/// A delete: the row's key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delete {
    /// The key columns' values (all columns with `--all-columns-key`).
    pub key: Values,
}

/// A whole change file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChangeSet {
    /// An explicit plan ID (else one is derived from the content).
    pub id: Option<String>,
    /// Updates, in file order.
    pub updates: Vec<Update>,
    /// Inserts (column → value), in file order.
    pub inserts: Vec<Values>,
    /// Deletes, in file order.
    pub deletes: Vec<Delete>,
}

type RawMap = BTreeMap<String, Box<RawValue>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    id: Option<String>,
    #[serde(default)]
    updates: Vec<RawUpdate>,
    #[serde(default)]
    inserts: Vec<RawMap>,
    #[serde(default)]
    deletes: Vec<RawDelete>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpdate {
    key: RawMap,
    set: RawMap,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelete {
    key: RawMap,
}

impl ChangeSet {
    /// Parses a change file.
    ///
    /// ```
    /// use datam_live::changes::{ChangeSet, ChangeValue};
    /// let c = ChangeSet::from_json(br#"{"updates":[{"key":{"id":1},"set":{"price":12.50}}]}"#).unwrap();
    /// assert_eq!(c.updates[0].set["price"], ChangeValue::Number("12.50".into()));
    /// let e = ChangeSet::from_json(br#"{"updates":[{"key":{"id":1}}]}"#).unwrap_err();
    /// assert!(e.to_string().contains("line 1"), "{e}");
    /// ```
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let raw: RawSet = serde_json::from_slice(bytes).map_err(|e| Error::Change {
            place: Place(format!("line {} column {}", e.line(), e.column())),
            kind: ChangeError::Malformed {
                message: e.to_string(),
            },
        })?;
        let mut set = Self {
            id: raw.id,
            ..Self::default()
        };
        for (i, u) in raw.updates.into_iter().enumerate() {
            let key = values(&u.key, &format!("updates[{i}].key"))?;
            let new = values(&u.set, &format!("updates[{i}].set"))?;
            if new.is_empty() {
                return Err(Error::Change {
                    place: Place(format!("updates[{i}].set")),
                    kind: ChangeError::Unsupported {
                        what: "an update must set at least one column",
                    },
                });
            }
            set.updates.push(Update { key, set: new });
        }
        for (i, r) in raw.inserts.into_iter().enumerate() {
            set.inserts.push(values(&r, &format!("inserts[{i}]"))?);
        }
        for (i, d) in raw.deletes.into_iter().enumerate() {
            let key = values(&d.key, &format!("deletes[{i}].key"))?;
            set.deletes.push(Delete { key });
        }
        Ok(set)
    }

    /// The canonical JSON of the set (sorted keys), which the plan ID is
    /// derived from.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn values(raw: &RawMap, place: &str) -> Result<Values> {
    raw.iter()
        .map(|(k, v)| {
            let cv = classify(v.get()).ok_or_else(|| Error::Change {
                place: Place(format!("{place}.{k}")),
                kind: ChangeError::Malformed {
                    message: format!("cannot read value {}", v.get()),
                },
            })?;
            Ok((k.clone(), cv))
        })
        .collect()
}

fn classify(raw: &str) -> Option<ChangeValue> {
    let t = raw.trim();
    Some(match t.as_bytes().first()? {
        b'n' => ChangeValue::Null,
        b't' => ChangeValue::Bool(true),
        b'f' => ChangeValue::Bool(false),
        b'"' => ChangeValue::String(serde_json::from_str(t).ok()?),
        b'{' => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Blob {
                blob_hex: String,
            }
            match serde_json::from_str::<Blob>(t) {
                Ok(b) => ChangeValue::Blob(hex::decode(b.blob_hex).ok()?),
                Err(_) => ChangeValue::Json(t.to_owned()),
            }
        }
        b'[' => ChangeValue::Json(t.to_owned()),
        _ => ChangeValue::Number(t.to_owned()),
    })
}
