//! Resource managers: names as pg_waldump prints them and record-type names
//! (`rm_identify`) per major. Source: `src/include/access/rmgrlist.h` and the
//! `*_identify` functions in `src/backend/access/rmgrdesc/`.

use crate::ctx::PgMajor;

/// Highest built-in rmgr id (LogicalMessage); the list is the same in 13–18.
pub const RM_MAX_BUILTIN_ID: u8 = 21;

/// Built-in rmgr names by id.
pub const RMGR_NAMES: [&str; 22] = [
    "XLOG",
    "Transaction",
    "Storage",
    "CLOG",
    "Database",
    "Tablespace",
    "MultiXact",
    "RelMap",
    "Standby",
    "Heap2",
    "Heap",
    "Btree",
    "Hash",
    "Gin",
    "Gist",
    "Sequence",
    "SPGist",
    "BRIN",
    "CommitTs",
    "ReplicationOrigin",
    "Generic",
    "LogicalMessage",
];

/// `RM_XLOG_ID`.
pub const RM_XLOG_ID: u8 = 0;
/// `RM_XACT_ID`.
pub const RM_XACT_ID: u8 = 1;
/// `RM_SMGR_ID`.
pub const RM_SMGR_ID: u8 = 2;
/// `RM_STANDBY_ID`.
pub const RM_STANDBY_ID: u8 = 8;
/// `RM_HEAP2_ID`.
pub const RM_HEAP2_ID: u8 = 9;
/// `RM_HEAP_ID`.
pub const RM_HEAP_ID: u8 = 10;
/// `RM_BTREE_ID`.
pub const RM_BTREE_ID: u8 = 11;

/// The rmgr's name as pg_waldump prints it (`custom130` for custom ids).
pub fn rmgr_name(rmid: u8) -> std::borrow::Cow<'static, str> {
    match RMGR_NAMES.get(usize::from(rmid)) {
        Some(n) => std::borrow::Cow::Borrowed(n),
        None => std::borrow::Cow::Owned(format!("custom{rmid:03}")),
    }
}

/// The rmgr id for a name (case-insensitive), for filters.
pub fn rmgr_by_name(name: &str) -> Option<u8> {
    RMGR_NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .and_then(|i| u8::try_from(i).ok())
}

/// The record type name (`rm_identify`) of `xl_info` for rmgr `rmid` in
/// `major`, `None` when the major defines no such type. Heap/BRIN/Gin-style
/// init-page flags are rendered as `+INIT`.
pub fn record_type_name(major: PgMajor, rmid: u8, xl_info: u8) -> Option<String> {
    let info = xl_info & 0xF0;
    let plain = |s: Option<&'static str>| s.map(str::to_string);
    match rmid {
        0 => plain(xlog_name(major, info)),
        1 => {
            let n = match info & 0x70 {
                0x00 => "COMMIT",
                0x10 => "PREPARE",
                0x20 => "ABORT",
                0x30 => "COMMIT_PREPARED",
                0x40 => "ABORT_PREPARED",
                0x50 => "ASSIGNMENT",
                0x60 if major >= PgMajor::V14 => "INVALIDATION",
                _ => return None,
            };
            Some(n.to_string())
        }
        2 => plain(match info {
            0x10 => Some("CREATE"),
            0x20 => Some("TRUNCATE"),
            _ => None,
        }),
        3 | 18 => plain(match info {
            0x00 => Some("ZEROPAGE"),
            0x10 => Some("TRUNCATE"),
            0x20 if rmid == 18 && major == PgMajor::V13 => Some("SETTS"),
            _ => None,
        }),
        4 => plain(match (major >= PgMajor::V15, info) {
            (false, 0x00) => Some("CREATE"),
            (false, 0x10) => Some("DROP"),
            (true, 0x00) => Some("CREATE_FILE_COPY"),
            (true, 0x10) => Some("CREATE_WAL_LOG"),
            (true, 0x20) => Some("DROP"),
            _ => None,
        }),
        5 => plain(match info {
            0x00 => Some("CREATE"),
            0x10 => Some("DROP"),
            _ => None,
        }),
        6 => plain(match info {
            0x00 => Some("ZERO_OFF_PAGE"),
            0x10 => Some("ZERO_MEM_PAGE"),
            0x20 => Some("CREATE_ID"),
            0x30 => Some("TRUNCATE_ID"),
            _ => None,
        }),
        7 => plain((info == 0).then_some("UPDATE")),
        8 => plain(match info {
            0x00 => Some("LOCK"),
            0x10 => Some("RUNNING_XACTS"),
            0x20 => Some("INVALIDATIONS"),
            _ => None,
        }),
        9 => heap2_name(major, info).and_then(|n| with_init(n, info, &[0x50])),
        10 => heap_name(info).and_then(|n| with_init(n, info, &[0x00, 0x20, 0x40])),
        11 => plain(btree_name(info)),
        12 => plain(hash_name(info)),
        13 => plain(gin_name(info)),
        14 => plain(gist_name(major, info)),
        15 => plain((info == 0).then_some("LOG")),
        16 => plain(spgist_name(info)),
        17 => brin_name(info).and_then(|n| with_init(n, info, &[0x10, 0x20])),
        19 => plain(match info {
            0x00 => Some("SET"),
            0x10 => Some("DROP"),
            _ => None,
        }),
        20 => plain(Some("Generic")),
        21 => plain((info == 0).then_some("MESSAGE")),
        _ => None,
    }
}

/// `NAME+INIT` when the init-page bit (0x80) is set on one of the types
/// `with_init` that the rmgr's identify function knows so; `None` (printed
/// as `UNKNOWN`) for the bit on any other type.
fn with_init(name: &str, info: u8, with_init: &[u8]) -> Option<String> {
    if info & 0x80 == 0 {
        Some(name.to_string())
    } else if with_init.contains(&(info & 0x70)) {
        Some(format!("{name}+INIT"))
    } else {
        None
    }
}

fn xlog_name(major: PgMajor, info: u8) -> Option<&'static str> {
    Some(match info {
        0x00 => "CHECKPOINT_SHUTDOWN",
        0x10 => "CHECKPOINT_ONLINE",
        0x20 => "NOOP",
        0x30 => "NEXTOID",
        0x40 => "SWITCH",
        0x50 => "BACKUP_END",
        0x60 => "PARAMETER_CHANGE",
        0x70 => "RESTORE_POINT",
        0x80 => "FPW_CHANGE",
        0x90 => "END_OF_RECOVERY",
        0xA0 => "FPI_FOR_HINT",
        0xB0 => "FPI",
        0xD0 if major >= PgMajor::V14 => "OVERWRITE_CONTRECORD",
        0xE0 if major >= PgMajor::V17 => "CHECKPOINT_REDO",
        _ => return None,
    })
}

fn heap_name(info: u8) -> Option<&'static str> {
    Some(match info & 0x70 {
        0x00 => "INSERT",
        0x10 => "DELETE",
        0x20 => "UPDATE",
        0x30 => "TRUNCATE",
        0x40 => "HOT_UPDATE",
        0x50 => "HEAP_CONFIRM",
        0x60 => "LOCK",
        _ => "INPLACE",
    })
}

fn heap2_name(major: PgMajor, info: u8) -> Option<&'static str> {
    Some(match (info & 0x70, major) {
        (0x00, _) => "REWRITE",
        (0x10, PgMajor::V13) => "CLEAN",
        (0x20, PgMajor::V13) => "FREEZE_PAGE",
        (0x30, PgMajor::V13) => "CLEANUP_INFO",
        (0x10, PgMajor::V14 | PgMajor::V15 | PgMajor::V16) => "PRUNE",
        (0x20, PgMajor::V14 | PgMajor::V15 | PgMajor::V16) => "VACUUM",
        (0x30, PgMajor::V14 | PgMajor::V15 | PgMajor::V16) => "FREEZE_PAGE",
        (0x10, _) => "PRUNE_ON_ACCESS",
        (0x20, _) => "PRUNE_VACUUM_SCAN",
        (0x30, _) => "PRUNE_VACUUM_CLEANUP",
        (0x40, _) => "VISIBLE",
        (0x50, _) => "MULTI_INSERT",
        (0x60, _) => "LOCK_UPDATED",
        _ => "NEW_CID",
    })
}

fn btree_name(info: u8) -> Option<&'static str> {
    Some(match info {
        0x00 => "INSERT_LEAF",
        0x10 => "INSERT_UPPER",
        0x20 => "INSERT_META",
        0x30 => "SPLIT_L",
        0x40 => "SPLIT_R",
        0x50 => "INSERT_POST",
        0x60 => "DEDUP",
        0x70 => "DELETE",
        0x80 => "UNLINK_PAGE",
        0x90 => "UNLINK_PAGE_META",
        0xA0 => "NEWROOT",
        0xB0 => "MARK_PAGE_HALFDEAD",
        0xC0 => "VACUUM",
        0xD0 => "REUSE_PAGE",
        0xE0 => "META_CLEANUP",
        _ => return None,
    })
}

fn hash_name(info: u8) -> Option<&'static str> {
    Some(match info {
        0x00 => "INIT_META_PAGE",
        0x10 => "INIT_BITMAP_PAGE",
        0x20 => "INSERT",
        0x30 => "ADD_OVFL_PAGE",
        0x40 => "SPLIT_ALLOCATE_PAGE",
        0x50 => "SPLIT_PAGE",
        0x60 => "SPLIT_COMPLETE",
        0x70 => "MOVE_PAGE_CONTENTS",
        0x80 => "SQUEEZE_PAGE",
        0x90 => "DELETE",
        0xA0 => "SPLIT_CLEANUP",
        0xB0 => "UPDATE_META_PAGE",
        0xC0 => "VACUUM_ONE_PAGE",
        _ => return None,
    })
}

fn gin_name(info: u8) -> Option<&'static str> {
    Some(match info {
        0x10 => "CREATE_PTREE",
        0x20 => "INSERT",
        0x30 => "SPLIT",
        0x40 => "VACUUM_PAGE",
        0x50 => "DELETE_PAGE",
        0x60 => "UPDATE_META_PAGE",
        0x70 => "INSERT_LISTPAGE",
        0x80 => "DELETE_LISTPAGE",
        0x90 => "VACUUM_DATA_LEAF_PAGE",
        _ => return None,
    })
}

fn gist_name(_major: PgMajor, info: u8) -> Option<&'static str> {
    Some(match info {
        0x00 => "PAGE_UPDATE",
        0x10 => "DELETE",
        0x20 => "PAGE_REUSE",
        0x30 => "PAGE_SPLIT",
        0x60 => "PAGE_DELETE",
        0x70 => "ASSIGN_LSN",
        _ => return None,
    })
}

fn spgist_name(info: u8) -> Option<&'static str> {
    Some(match info {
        0x10 => "ADD_LEAF",
        0x20 => "MOVE_LEAFS",
        0x30 => "ADD_NODE",
        0x40 => "SPLIT_TUPLE",
        0x50 => "PICKSPLIT",
        0x60 => "VACUUM_LEAF",
        0x70 => "VACUUM_ROOT",
        0x80 => "VACUUM_REDIRECT",
        _ => return None,
    })
}

fn brin_name(info: u8) -> Option<&'static str> {
    Some(match info & 0x70 {
        0x00 => "CREATE_INDEX",
        0x10 => "INSERT",
        0x20 => "UPDATE",
        0x30 => "SAMEPAGE_UPDATE",
        0x40 => "REVMAP_EXTEND",
        0x50 => "DESUMMARIZE",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(rmgr_name(10), "Heap");
        assert_eq!(rmgr_name(130), "custom130");
        assert_eq!(rmgr_by_name("heap2"), Some(9));
        assert_eq!(
            record_type_name(PgMajor::V15, 10, 0x80).as_deref(),
            Some("INSERT+INIT")
        );
        assert_eq!(
            record_type_name(PgMajor::V13, 9, 0x10).as_deref(),
            Some("CLEAN")
        );
        assert_eq!(
            record_type_name(PgMajor::V17, 9, 0x10).as_deref(),
            Some("PRUNE_ON_ACCESS")
        );
        assert_eq!(record_type_name(PgMajor::V13, 0, 0xD0), None);
    }
}
