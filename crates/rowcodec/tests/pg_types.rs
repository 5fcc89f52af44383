//! Differential test of `rowcodec::pg` against the real PostgreSQL server.
//!
//! For every supported type a table `(id int, v <type>)` is filled with edge
//! cases and proptest-generated values. The on-disk bytes of each `v` come
//! from the server itself (pageinspect: `heap_page_items` + `tuple_data_split`
//! on the table's pages) and the expected text from the server's output
//! function (`format('%s', v)` under DateStyle=ISO, TimeZone=UTC,
//! extra_float_digits=1, bytea_output=hex, IntervalStyle=postgres,
//! lc_monetary=C). `COPY` text/CSV output and SQL literals are checked the
//! same way.

// A `harness = false` test target is not compiled with cfg(test), so the
// clippy test exemptions must be spelled out.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::too_many_arguments
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use rowcodec::pg::{
    CompositeAttr, Printer, TypeCatalog, TypeInfo, TypeMap, copy_text_escape, csv_quote,
    csv_quote_single_column, output, sql_literal,
};
use testkit::pg::{Cluster, ClusterOptions, PgInstall};

/// Proptest values per generated type (the run stays well under a minute).
const N_GENERATED: usize = 60;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = testkit::pg::major_trials("pg_types_match_server", &[15, 17], run_types);
    trials.extend(testkit::pg::major_trials(
        "builtin_catalog_matches_pg_type",
        &[15],
        run_catalog,
    ));
    libtest_mimic::run(&args, trials).exit();
}

fn start(install: &PgInstall) -> Result<Cluster, String> {
    let c = Cluster::start(
        install,
        ClusterOptions::default()
            .conf("datestyle = 'ISO, MDY'")
            .conf("timezone = 'UTC'")
            .conf("extra_float_digits = 1")
            .conf("bytea_output = 'hex'")
            .conf("intervalstyle = 'postgres'")
            .conf("lc_monetary = 'C'"),
    )
    .map_err(|e| format!("cluster start: {e}"))?;
    c.psql("CREATE EXTENSION pageinspect;")
        .map_err(|e| e.to_string())?;
    Ok(c)
}

/// SQL string literal (E'' form, so control characters survive psql).
fn lit(s: &str) -> String {
    let mut o = String::from("E'");
    for ch in s.chars() {
        match ch {
            '\'' => o.push_str("''"),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(o, "\\x{:02x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('\'');
    o
}

fn sample<S: Strategy>(s: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| s.new_tree(&mut runner).expect("strategy").current())
        .collect()
}

/// One table: the column type and the SQL expressions of its values.
struct Case {
    ty: String,
    values: Vec<String>,
}

fn case(ty: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Case {
    Case {
        ty: ty.to_owned(),
        values: values.into_iter().map(Into::into).collect(),
    }
}

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,30}",
        "[\\x01-\\x1f\"\\\\{},' a-zA-Z]{0,20}",
        "\\PC{0,20}",
        Just("NULL".to_owned()),
        Just("null".to_owned()),
    ]
}

fn json_strategy() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e20f64..1e20).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[ -~\\x01-\\x1f\\u{e9}\\u{1F600}]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\"\\\\ ]{0,6}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn timestamp_literal(
    y: i32,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    us: u32,
    bc: bool,
) -> String {
    format!(
        "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}{}",
        if bc { " BC" } else { "" }
    )
}

fn timestamp_strategy() -> impl Strategy<Value = String> {
    (
        1i32..=9999,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..1_000_000,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(y, mo, d, h, mi, s, us, bc)| {
            // The server's range starts at 4713 BC.
            let y = if bc { y % 4713 + 1 } else { y };
            timestamp_literal(y, mo, d, h, mi, s, us, bc)
        })
}

fn numeric_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        ("-?[0-9]{1,30}", "[0-9]{0,30}").prop_map(|(i, f)| if f.is_empty() {
            i
        } else {
            format!("{i}.{f}")
        }),
        ("-?0\\.0{0,20}[1-9][0-9]{0,6}").prop_map(|s| s),
        ("-?[1-9][0-9]{0,5}", -60i32..60).prop_map(|(m, e)| format!("{m}e{e}")),
    ]
}

fn interval_strategy() -> impl Strategy<Value = String> {
    (
        -1_000_000i32..1_000_000,
        -100_000i32..100_000,
        prop::bool::ANY,
        0u64..3_000_000,
        0u32..60,
        0u32..60,
        0u32..1_000_000,
    )
        .prop_map(|(m, d, neg, h, mi, s, us)| {
            format!(
                "{m} mons {d} days {}{h}:{mi:02}:{s:02}.{us:06}",
                if neg { "-" } else { "" }
            )
        })
}

fn inet_strategy() -> impl Strategy<Value = (String, u8)> {
    prop_oneof![
        (any::<[u8; 4]>(), 0u8..=32)
            .prop_map(|(a, b)| (format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]), b)),
        (
            any::<[u16; 8]>(),
            prop::collection::vec(0usize..8, 0..6),
            0u8..=128
        )
            .prop_map(|(mut w, zeros, b)| {
                for z in zeros {
                    w[z] = 0;
                }
                let s: Vec<String> = w.iter().map(|x| format!("{x:x}")).collect();
                (s.join(":"), b)
            }),
    ]
}

fn typed(values: impl IntoIterator<Item = String>, ty: &str) -> Vec<String> {
    values
        .into_iter()
        .map(|v| format!("{}::{ty}", lit(&v)))
        .collect()
}

fn cases(major: u32) -> Vec<Case> {
    let mut cs = vec![
        case("bool", ["true", "false", "NULL"]),
        case("int2", ["0", "-32768", "32767", "-1", "42"]),
        case("int4", ["0", "-2147483648", "2147483647", "-7"]),
        case(
            "int8",
            [
                "0",
                "-9223372036854775808",
                "9223372036854775807",
                "123456789012",
            ],
        ),
        case("oid", ["0", "4294967295", "1259"]),
        case("xid", ["'0'::xid", "'4294967295'::xid"]),
        case("cid", ["'7'::cid"]),
        case(
            "tid",
            [
                "'(0,1)'::tid",
                "'(4294967295,65535)'::tid",
                "'(65536,3)'::tid",
            ],
        ),
        case(
            "pg_lsn",
            [
                "'0/0'::pg_lsn",
                "'16/B374D848'::pg_lsn",
                "'FFFFFFFF/FFFFFFFF'::pg_lsn",
            ],
        ),
        case("xid8", ["'0'::xid8", "'18446744073709551615'::xid8"]),
        case(
            "float8",
            [
                "0",
                "'-0'",
                "1",
                "0.1",
                "'NaN'",
                "'Infinity'",
                "'-Infinity'",
                "1e15",
                "1e14",
                "123456789012345",
                "1234567890123456",
                "0.0001",
                "0.00001",
                "1.5e-7",
                "1e100",
                "1.7976931348623157e308",
                "5e-324",
                "2.2250738585072014e-308",
                "-3.14159",
                "100",
                "1e22",
                "9007199254740993",
            ],
        ),
        case(
            "float4",
            [
                "0",
                "'-0'",
                "1",
                "0.1",
                "'NaN'",
                "'Infinity'",
                "'-Infinity'",
                "1e6",
                "123456",
                "999999",
                "1234567",
                "0.0001",
                "0.00001",
                "3.4028235e38",
                "1e-45",
                "1.17549435e-38",
                "-2.5",
            ],
        ),
        case(
            "numeric",
            [
                "0",
                "'NaN'",
                "'Infinity'",
                "'-Infinity'",
                "1.50",
                "-1.50",
                "0.000",
                "123456789.123456789",
                "-0.0005",
                "1e-20",
                "1e20",
                "99999999999999999999999999999999999999.99",
                "0.1",
                "10000",
                "-10000.0001",
                "1e-100",
                "1e130",
                "0.00000000000000000000000000001",
            ],
        ),
        case("numeric(10,3)", ["1", "-2.5", "1234567.891", "0"]),
        case(
            "money",
            [
                "'0'",
                "'1234.56'",
                "'-1.00'",
                "'-92233720368547758.08'",
                "'92233720368547758.07'",
                "'0.05'",
            ],
        ),
        case(
            "text",
            [
                "''",
                "'hello'",
                "E'tab\\there\\nnew\\\\line'",
                "'ünïcödé 😀'",
                "'NULL'",
                "repeat('x', 1000)",
            ],
        ),
        case("varchar(10)", ["'abc'", "''", "'0123456789'"]),
        case("char(5)", ["'ab'", "''", "'abcde'"]),
        case("bpchar", ["'ab  '", "'x'"]),
        case("name", ["'pg_class'", "''", "repeat('n', 63)"]),
        case(
            "\"char\"",
            ["'a'", "''", "'\\'", "E'\\x01'::\"char\"", "'é'::\"char\""],
        ),
        case(
            "bytea",
            [
                "''::bytea",
                "'\\x00ff10'::bytea",
                "'abc'::bytea",
                "decode(repeat('ab', 300), 'hex')",
            ],
        ),
        case(
            "date",
            [
                "'2000-01-01'",
                "'1970-01-01'",
                "'infinity'",
                "'-infinity'",
                "'0001-01-01'",
                "'0001-12-31 BC'",
                "'4713-01-01 BC'",
                "'5874897-12-31'",
                "'1999-12-31'",
                "'2024-02-29'",
            ],
        ),
        case(
            "time",
            [
                "'00:00'",
                "'23:59:59.999999'",
                "'24:00'",
                "'12:34:56.5'",
                "'01:02:03.000001'",
            ],
        ),
        case(
            "timetz",
            [
                "'00:00+00'",
                "'12:34:56.789-05'",
                "'23:59:59+14'",
                "'01:02:03+05:30'",
                "'04:05:06-03:25:45'",
                "'10:00-15:59'",
            ],
        ),
        case(
            "timestamp",
            [
                "'2000-01-01 00:00'",
                "'infinity'",
                "'-infinity'",
                "'1999-12-31 23:59:59.999999'",
                "'0001-01-01 00:00'",
                "'0044-03-15 12:00 BC'",
                "'4713-01-01 00:00 BC'",
                "'294276-12-31 23:59:59.999999'",
                "'1970-01-01 00:00:00.5'",
            ],
        ),
        case("timestamp(2)", ["'2020-05-06 07:08:09.126'"]),
        case(
            "timestamptz",
            [
                "'2000-01-01 00:00+00'",
                "'infinity'",
                "'-infinity'",
                "'2024-06-01 12:00:00.123+02'",
                "'0001-01-01 00:00+00 BC'",
                "'1900-01-01 00:00+00'",
            ],
        ),
        case(
            "interval",
            [
                "'0'",
                "'1 year'",
                "'1 year 2 mons 3 days 04:05:06.789'",
                "'-1 year -2 mons +3 days -04:05:06'",
                "'-1 days'",
                "'1 day -00:00:01'",
                "'-1 mons 1 day'",
                "'2 years'",
                "'1 mon'",
                "'1 microsecond'",
                "'-0.000001 s'",
                "'100000 hours'",
                "'178000000 years'",
                "'-178000000 years'",
                "'1 day 1 microsecond'",
            ],
        ),
        case(
            "uuid",
            [
                "'00000000-0000-0000-0000-000000000000'",
                "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
                "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
            ],
        ),
        case(
            "json",
            ["'{\"b\": 1,   \"a\" : [1,2]}'", "'null'", "'\"x\"'", "'[]'"],
        ),
        case(
            "jsonb",
            [
                "'{\"b\": 1, \"a\": [1, 2.50, null, true, false]}'",
                "'null'",
                "'\"x\\\\y\\n\"'",
                "'[]'",
                "'{}'",
                "'1.0e10'",
                "'[[[]]]'",
                "'{\"aa\": 1, \"a\": 2, \"b\": {\"c\": \"d\"}}'",
                "'\"\\u0001\"'",
                "'-0.000'",
            ],
        ),
        case(
            "inet",
            [
                "'192.168.0.1'",
                "'192.168.0.1/24'",
                "'0.0.0.0/0'",
                "'::'",
                "'::1'",
                "'::ffff:1.2.3.4'",
                "'::1.2.3.4'",
                "'2001:db8::1/64'",
                "'fe80::1:0:0:1'",
                "'1:0:0:1:0:0:0:1'",
                "'1::'",
                "'::2:0:0:0:0:0:0'",
                "'::0.0.0.1'",
            ],
        ),
        case(
            "cidr",
            [
                "'10.0.0.0/8'",
                "'192.168.1.0/24'",
                "'10.1.2.3/32'",
                "'2001:db8::/32'",
                "'::/0'",
                "'::1/128'",
            ],
        ),
        case("macaddr", ["'08:00:2b:01:02:03'", "'ff:ff:ff:ff:ff:ff'"]),
        case("macaddr8", ["'08:00:2b:01:02:03:04:05'"]),
        case("bit(5)", ["B'10101'", "B'00000'"]),
        case("varbit", ["B''", "B'1'", "B'1010101010101'"]),
        case("mood", ["'sad'", "'ok'", "'happy'", "'new label'"]),
        case("posint", ["1", "2147483647"]),
        case("shorttext", ["'abc'", "''"]),
        case(
            "int4[]",
            [
                "'{}'",
                "'{1,2,3}'",
                "'{1,NULL,3}'",
                "'{NULL}'",
                "'[0:2]={1,2,3}'",
                "'{{1,2},{3,4}}'",
                "'[-5:-4][1:2]={{1,NULL},{NULL,4}}'",
                "'{{{1},{2}},{{3},{4}}}'",
                "ARRAY[NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,5]",
            ],
        ),
        case(
            "text[]",
            [
                "'{}'",
                "ARRAY['a', NULL, '', 'NULL', 'null', 'x y', 'q\"uote', 'back\\slash', '{}', 'a,b', E'tab\\t']",
                "'{{a,b},{c,d}}'",
                "ARRAY[repeat('z', 200), 'short']",
            ],
        ),
        case("int8[]", ["'{1,-9223372036854775808,NULL}'"]),
        case("int2[]", ["'{1,2,NULL,-3}'"]),
        case("float8[]", ["'{0.1,NaN,-Infinity,1e300}'"]),
        case("float4[]", ["'{0.1,NaN,1e-30}'"]),
        case("numeric[]", ["'{1.5,NaN,-0.001,NULL}'"]),
        case("bool[]", ["'{t,f,NULL}'"]),
        case("date[]", ["'{2000-01-01,infinity,NULL}'"]),
        case("timestamptz[]", ["'{\"2000-01-01 00:00+00\",NULL}'"]),
        case(
            "timestamp[]",
            ["ARRAY['2001-02-03 04:05:06'::timestamp, NULL]"],
        ),
        case("interval[]", ["'{\"1 day\",\"-00:00:01\"}'"]),
        case(
            "uuid[]",
            ["ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, NULL]"],
        ),
        case("jsonb[]", ["ARRAY['{\"a\": [1]}'::jsonb, NULL, 'null']"]),
        case("bytea[]", ["ARRAY['\\x00'::bytea, NULL, ''::bytea]"]),
        case("inet[]", ["'{10.0.0.1/8,::1}'"]),
        case("\"char\"[]", ["ARRAY['a'::\"char\", NULL]"]),
        case("name[]", ["ARRAY['abc'::name, NULL, 'x y'::name]"]),
        case("char(3)[]", ["ARRAY['a'::char(3), NULL]"]),
        case("money[]", ["'{$1.00,-$2.50}'"]),
        case("mood[]", ["ARRAY['sad'::mood, NULL, 'new label']"]),
        case("posint[]", ["ARRAY[1, NULL, 3]::posint[]"]),
        case("time[]", ["'{00:00:01,NULL}'"]),
        case("timetz[]", ["'{00:00:01+01,NULL}'"]),
        case("macaddr[]", ["'{08:00:2b:01:02:03}'"]),
        case("oid[]", ["'{1,4294967295}'"]),
        case("varbit[]", ["'{101,\"\"}'"]),
        case(
            "int4range",
            [
                "'empty'",
                "'[1,10)'",
                "'(,5]'",
                "'[3,)'",
                "'(,)'",
                "'[-2147483648,2147483647)'",
            ],
        ),
        case("int8range", ["'[1,9223372036854775807)'", "'(,)'"]),
        case(
            "numrange",
            [
                "'[1.5,2.50]'",
                "'(,0.001)'",
                "'[NaN,NaN]'",
                "'(-Infinity,Infinity)'",
            ],
        ),
        case("daterange", ["'[2000-01-01,infinity)'", "'(,2024-02-29]'"]),
        case(
            "tsrange",
            [
                "'[2000-01-01 00:00,2000-01-02 12:34:56.789)'",
                "'(-infinity,)'",
            ],
        ),
        case("tstzrange", ["'[2000-01-01 00:00+00,)'", "'empty'"]),
        case("floatrange", ["'[0.1,1e300]'", "'(-Infinity,NaN]'"]),
        case(
            "textrange",
            [
                "'[a,b)'",
                "'[\"\",\"x y\"]'",
                "'(\"back\\\\slash\",\"q\"\"uote\")'",
                "textrange(repeat('a', 200), repeat('b', 300))",
            ],
        ),
        case(
            "tsvector",
            [
                "''::tsvector",
                "'a fat cat sat on a mat and ate a fat rat'::tsvector",
                "$$a:1A fat:2B,4C cat:5D 'it''s':7 back\\slash:3$$::tsvector",
                "to_tsvector('english', 'The quick brown foxes jumped over the lazy dogs, quickly')",
                "setweight('x:1,2,3 y'::tsvector, 'A')",
                "(SELECT string_agg('w' || i || ':' || i, ' ')::tsvector FROM generate_series(1, 100) i)",
            ],
        ),
        case(
            "tsquery",
            [
                "''::tsquery",
                "'fat & rat'::tsquery",
                "'fat & (rat | cat) & !mat'::tsquery",
                "'!(a & b) | !c'::tsquery",
                "'a <-> b <2> c'::tsquery",
                "'(a <-> b) <-> (c | d)'::tsquery",
                "'a <-> (b <-> c)'::tsquery",
                "$$super:*AB & 'it''s':D & !!x$$::tsquery",
                "'(a | b) & (c | d) <3> e'::tsquery",
            ],
        ),
        case(
            "jsonpath",
            [
                "'$'::jsonpath",
                "'strict $.a[*] ? (@ > 2 && @ < 10 || !(@ == 5))'::jsonpath",
                "$$lax $.\"key with space\".b[1 to last, 3].*$$::jsonpath",
                "$$$.** ? (@.type() == \"number\")$$::jsonpath",
                "'$.**{2 to last}.x'::jsonpath",
                "'$.a + 1 * -$.b / (2 - 3) % 4'::jsonpath",
                "$$$ ? (@ like_regex \"^ab.*c\" flag \"is\")$$::jsonpath",
                "$$$ ? (@ starts with \"x\")$$::jsonpath",
                "$$$.datetime(\"HH24:MI\").size().floor().keyvalue()$$::jsonpath",
                "'$var ? (exists (@.x)) ? ((@ == null) is unknown)'::jsonpath",
                "$$\"s\"$$::jsonpath",
                "'false'::jsonpath",
                "'null'::jsonpath",
                "'-1.5e3'::jsonpath",
            ],
        ),
        case(
            "pg_snapshot",
            ["'10:20:10,14,15'::pg_snapshot", "'5:5:'::pg_snapshot"],
        ),
        case("txid_snapshot", ["'10:20:10,14,15'::txid_snapshot"]),
        case("tsvector[]", ["ARRAY['a:1 b'::tsvector, NULL]"]),
        case("citext", ["'MiXeD Case'", "''"]),
        case("citext[]", ["ARRAY['a b'::citext, NULL]"]),
        case(
            "hstore",
            [
                "''::hstore",
                "'a=>1, b=>NULL, \"c d\"=>\"\"'::hstore",
                "hstore(ARRAY['q\"uote', 'back\\slash', 'ü', 'z'], ARRAY['x', NULL, 'ä\"\\', repeat('v', 300)])",
                "(SELECT hstore(array_agg('k' || i), array_agg(i::text)) FROM generate_series(1, 40) i)",
            ],
        ),
        case(
            "comp",
            [
                "ROW(1, 'x y', 1.5, 7, NULL)::comp",
                "ROW(NULL, '', NULL, NULL, 'z')::comp",
                "ROW(-1, 'q\"uote\\back(,)', 'NaN', 9223372036854775807, E'tab\\t')::comp",
                "ROW(NULL, NULL, NULL, NULL, NULL)::comp",
            ],
        ),
        case(
            "outer_comp",
            ["ROW(ROW(1, 'a', 2, 3, 'b')::comp, ARRAY[1, NULL], '2000-01-01')::outer_comp"],
        ),
        case(
            "comp[]",
            ["ARRAY[ROW(1, 'a', 2, 3, 'b')::comp, NULL, ROW(NULL, 'c d', NULL, 4, NULL)::comp]"],
        ),
        case(
            "int4multirange",
            [
                "'{}'",
                "'{[1,3),[5,7),[9,11),[13,15),[17,19),[21,)}'",
                "'{(,1)}'",
            ],
        ),
        case("nummultirange", ["'{[1.5,2.5],(3,4)}'"]),
        case(
            "tsmultirange",
            ["'{[2000-01-01,2000-01-02),[2001-01-01,)}'"],
        ),
        case(
            "datemultirange",
            [
                "'{[2000-01-01,2000-02-01),[2000-03-01,2000-04-01),[2000-05-01,2000-06-01),[2000-07-01,2000-08-01),[2000-09-01,2000-10-01)}'",
            ],
        ),
        case("int8multirange", ["'{[1,2),[4,5)}'"]),
        // Containers with more than 32 children use offset strides.
        case(
            "jsonb",
            [
                "(SELECT jsonb_agg(i) FROM generate_series(1, 100) i)",
                "(SELECT jsonb_object_agg('k' || i, CASE WHEN i % 3 = 0 THEN to_jsonb(i * 1.5) ELSE to_jsonb(repeat('s', i % 7)) END) FROM generate_series(1, 40) i)",
                "(SELECT jsonb_agg(jsonb_build_object('a', i, 'b', 'x')) FROM generate_series(1, 34) i)",
            ],
        ),
        case("tstzmultirange", ["'{(,2000-01-01 00:00+00]}'"]),
        case(
            "textmultirange",
            [
                "textmultirange(textrange('a', 'b'), textrange(repeat('c', 200), 'd'), textrange('e', NULL), textrange('\"q', 'r s'), textrange('t', 'u'))",
            ],
        ),
        case(
            "point",
            ["'(1,2)'", "'(0.1,-1e300)'", "'(NaN,Infinity)'", "'(-0,0)'"],
        ),
        case("lseg", ["'[(1,2),(3.5,4)]'"]),
        case("box", ["'(1,2),(3,4)'", "'((0.5,0.25),(-1,-2))'"]),
        case("line", ["'{1,-1,0.5}'"]),
        case("circle", ["'<(1,2),3.25>'"]),
        case(
            "path",
            ["'((1,2),(3,4))'", "'[(1,2),(3,4),(5.5,6)]'", "'[(0,0)]'"],
        ),
        case("polygon", ["'((1,2),(3,4),(5,0))'", "'((0,0))'"]),
        case("box[]", ["ARRAY['(1,2),(3,4)'::box, NULL, '(0,0),(0,0)']"]),
        case("point[]", ["'{\"(1,2)\",NULL}'"]),
        case("int2vector", ["'1 2 -3'::int2vector", "''::int2vector"]),
        case(
            "oidvector",
            ["'1 4294967295 26'::oidvector", "''::oidvector"],
        ),
        case(
            "xml",
            ["'<a b=\"1\">x &amp; y</a>'::xml", "'text only'::xml"],
        ),
        case("int4range[]", ["ARRAY['[1,2)'::int4range, NULL, 'empty']"]),
        case("tsrange[]", ["ARRAY['[2000-01-01,2001-01-01)'::tsrange]"]),
    ];

    if major >= 17 {
        // Infinite intervals exist from PostgreSQL 17 on.
        cs.push(case("interval", ["'infinity'", "'-infinity'"]));
    }

    // proptest-generated values.
    cs.push(case(
        "float8",
        sample(any::<f64>(), N_GENERATED)
            .into_iter()
            .map(|f| format!("{}::float8", float_lit(f))),
    ));
    cs.push(case(
        "float8",
        sample(-1e20f64..1e20, N_GENERATED)
            .into_iter()
            .map(|f| format!("{}::float8", float_lit(f))),
    ));
    cs.push(case(
        "float4",
        sample(any::<f32>(), N_GENERATED)
            .into_iter()
            .map(|f| format!("{}::float4", float_lit(f64::from(f)))),
    ));
    cs.push(case(
        "numeric",
        typed(sample(numeric_strategy(), N_GENERATED), "numeric"),
    ));
    cs.push(case(
        "int8",
        sample(any::<i64>(), N_GENERATED)
            .into_iter()
            .map(|v| format!("{v}::int8")),
    ));
    cs.push(case(
        "money",
        sample(
            -90_000_000_000_000_000i64..90_000_000_000_000_000,
            N_GENERATED,
        )
        .into_iter()
        .map(|v| {
            format!(
                "'{}{}.{:02}'::money",
                if v < 0 { "-" } else { "" },
                v.unsigned_abs() / 100,
                v.unsigned_abs() % 100
            )
        }),
    ));
    cs.push(case(
        "timestamp",
        typed(sample(timestamp_strategy(), N_GENERATED), "timestamp"),
    ));
    cs.push(case(
        "timestamptz",
        typed(
            sample(timestamp_strategy(), N_GENERATED)
                .into_iter()
                .map(|t| format!("{t} +00")),
            "timestamptz",
        ),
    ));
    cs.push(case(
        "date",
        typed(sample(timestamp_strategy(), N_GENERATED), "timestamp")
            .into_iter()
            .map(|e| format!("({e})::date")),
    ));
    cs.push(case(
        "time",
        sample((0u32..24, 0u32..60, 0u32..60, 0u32..1_000_000), N_GENERATED)
            .into_iter()
            .map(|(h, m, s, us)| format!("'{h:02}:{m:02}:{s:02}.{us:06}'::time")),
    ));
    cs.push(case(
        "timetz",
        sample(
            (
                0u32..24,
                0u32..60,
                0u32..60,
                0u32..1_000_000,
                -15i32..=15,
                0u32..60,
            ),
            N_GENERATED,
        )
        .into_iter()
        .map(|(h, m, s, us, zh, zm)| {
            format!(
                "'{h:02}:{m:02}:{s:02}.{us:06}{}{:02}:{zm:02}'::timetz",
                if zh < 0 { "-" } else { "+" },
                zh.unsigned_abs()
            )
        }),
    ));
    cs.push(case(
        "interval",
        typed(sample(interval_strategy(), N_GENERATED), "interval"),
    ));
    cs.push(case(
        "text",
        sample(text_strategy(), N_GENERATED).iter().map(|s| lit(s)),
    ));
    cs.push(case(
        "bytea",
        sample(prop::collection::vec(any::<u8>(), 0..40), N_GENERATED)
            .into_iter()
            .map(|b| {
                format!(
                    "'\\x{}'::bytea",
                    b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                )
            }),
    ));
    cs.push(case(
        "jsonb",
        sample(json_strategy(), N_GENERATED)
            .into_iter()
            .map(|j| format!("{}::jsonb", lit(&j.to_string()))),
    ));
    cs.push(case(
        "uuid",
        sample(any::<[u8; 16]>(), 20).into_iter().map(|b| {
            format!(
                "'{}'::uuid",
                b.iter().map(|x| format!("{x:02x}")).collect::<String>()
            )
        }),
    ));
    cs.push(case(
        "inet",
        sample(inet_strategy(), N_GENERATED)
            .into_iter()
            .map(|(a, b)| format!("'{a}/{b}'::inet")),
    ));
    cs.push(case(
        "cidr",
        sample(inet_strategy(), N_GENERATED)
            .into_iter()
            .map(|(a, b)| format!("network('{a}/{b}'::inet)")),
    ));
    cs.push(case(
        "int4[]",
        sample(
            prop::collection::vec(prop::option::of(any::<i32>()), 0..12),
            30,
        )
        .into_iter()
        .map(|v| {
            let items: Vec<String> = v
                .iter()
                .map(|x| x.map_or("NULL".into(), |x| x.to_string()))
                .collect();
            format!("'{{{}}}'::int4[]", items.join(","))
        }),
    ));
    cs.push(case(
        "text[]",
        sample(
            prop::collection::vec(prop::option::of(text_strategy()), 1..6),
            30,
        )
        .into_iter()
        .map(|v| {
            let items: Vec<String> = v
                .iter()
                .map(|x| x.as_deref().map_or("NULL".into(), lit))
                .collect();
            format!("ARRAY[{}]::text[]", items.join(","))
        }),
    ));
    cs.push(case(
        "numeric[]",
        sample(
            (
                1usize..4,
                1usize..4,
                prop::collection::vec(prop::option::of(numeric_strategy()), 16),
            ),
            20,
        )
        .into_iter()
        .map(|(r, c, v)| {
            let rows: Vec<String> = (0..r)
                .map(|i| {
                    let items: Vec<String> = (0..c)
                        .map(|j| {
                            v[i * 4 + j]
                                .as_deref()
                                .map_or("NULL".into(), |x| format!("{x}::numeric"))
                        })
                        .collect();
                    format!("ARRAY[{}]", items.join(","))
                })
                .collect();
            format!("ARRAY[{}]::numeric[]", rows.join(","))
        }),
    ));
    cs
}

/// A float literal that the server reads back to the same bits.
fn float_lit(f: f64) -> String {
    if f.is_nan() {
        "'NaN'".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "'Infinity'".into()
        } else {
            "'-Infinity'".into()
        }
    } else {
        format!("'{f:e}'")
    }
}

/// The server's own catalog rows for the user-defined types, and enum labels.
fn server_catalog(c: &Cluster) -> Result<TypeMap, String> {
    let mut cat = TypeMap::builtin();
    let rows = c
        .psql(
            "SELECT oid, typname, typlen, typbyval, ascii(typalign), ascii(typtype), typelem, typbasetype, typoutput::text \
             FROM pg_type WHERE typnamespace = 'public'::regnamespace",
        )
        .map_err(|e| e.to_string())?;
    for line in rows.lines() {
        let f: Vec<&str> = line.split('|').collect();
        cat.add_type(TypeInfo {
            oid: f[0].parse().unwrap(),
            name: f[1].to_owned(),
            typlen: f[2].parse().unwrap(),
            typbyval: f[3] == "t",
            typalign: f[4].parse().unwrap(),
            typtype: f[5].parse().unwrap(),
            typelem: f[6].parse().unwrap(),
            typbasetype: f[7].parse().unwrap(),
            typoutput: f[8].to_owned(),
        });
    }
    let mut comps: BTreeMap<u32, Vec<CompositeAttr>> = BTreeMap::new();
    for line in c
        .psql(
            "SELECT t.oid, a.atttypid, a.atttypmod, a.attlen, ascii(a.attalign), a.attisdropped \
             FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid \
             WHERE t.typnamespace = 'public'::regnamespace AND t.typtype = 'c' AND a.attnum > 0 \
             ORDER BY t.oid, a.attnum",
        )
        .map_err(|e| e.to_string())?
        .lines()
    {
        let f: Vec<&str> = line.split('|').collect();
        comps
            .entry(f[0].parse().unwrap())
            .or_default()
            .push(CompositeAttr {
                type_oid: f[1].parse().unwrap(),
                typmod: f[2].parse().unwrap(),
                attlen: f[3].parse().unwrap(),
                attalign: f[4].parse().unwrap(),
                dropped: f[5] == "t",
            });
    }
    for (oid, attrs) in comps {
        cat.add_composite(oid, attrs);
    }
    for line in c
        .psql("SELECT rngtypid, rngsubtype, rngmultitypid FROM pg_range")
        .map_err(|e| e.to_string())?
        .lines()
    {
        let f: Vec<&str> = line.split('|').collect();
        cat.add_range(f[0].parse().unwrap(), f[1].parse().unwrap());
        cat.add_multirange(f[2].parse().unwrap(), f[0].parse().unwrap());
    }
    for line in c
        .psql("SELECT oid, enumlabel FROM pg_enum")
        .map_err(|e| e.to_string())?
        .lines()
    {
        let (oid, label) = line.split_once('|').unwrap();
        cat.add_enum_label(oid.parse().unwrap(), label);
    }
    Ok(cat)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Strips a 1- or 4-byte varlena header (uncompressed, in-line only).
fn varlena_payload(raw: &[u8]) -> Result<&[u8], String> {
    let h = raw[0];
    if h & 1 == 1 {
        if h == 1 {
            return Err("external TOAST pointer in test data".into());
        }
        Ok(&raw[1..usize::from(h >> 1)])
    } else if h & 3 == 0 {
        let len = (u32::from_le_bytes(raw[..4].try_into().unwrap()) >> 2) as usize;
        Ok(&raw[4..len])
    } else {
        Err("compressed value in test data".into())
    }
}

struct Row {
    id: usize,
    raw: Option<Vec<u8>>,
    text: Option<String>,
}

fn fetch_rows(c: &Cluster, table: &str) -> Result<Vec<Row>, String> {
    let q = format!(
        "SELECT t.id, coalesce(encode((tuple_data_split('{table}'::regclass, h.t_data, h.t_infomask, h.t_infomask2, h.t_bits))[2], 'hex'), 'NULL'), \
                encode(convert_to(format('%s', t.v), 'UTF8'), 'hex') \
         FROM generate_series(0, (pg_relation_size('{table}') / 8192)::int - 1) AS blk \
         CROSS JOIN LATERAL heap_page_items(get_raw_page('{table}', blk)) AS h \
         JOIN {table} t ON t.ctid = format('(%s,%s)', blk, h.lp)::tid ORDER BY t.id"
    );
    let out = c.psql(&q).map_err(|e| e.to_string())?;
    Ok(out
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            Row {
                id: f[0].parse().unwrap(),
                raw: (f[1] != "NULL").then(|| unhex(f[1])),
                // NULL-ness comes from the raw bytes (a row of NULLs `IS NULL` in SQL).
                text: Some(String::from_utf8(unhex(f[2])).unwrap()),
            }
        })
        .collect())
}

fn run_types(install: &PgInstall) -> Result<(), String> {
    let c = start(install)?;
    c.psql(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); ALTER TYPE mood ADD VALUE 'new label' BEFORE 'ok';\
         CREATE DOMAIN posint AS int4 CHECK (VALUE > 0); CREATE DOMAIN shorttext AS varchar(5);\
         CREATE EXTENSION hstore; CREATE EXTENSION citext;\
         CREATE TYPE comp AS (a int4, gone text, b text, c numeric, d int8);\
         ALTER TYPE comp DROP ATTRIBUTE gone; ALTER TYPE comp ADD ATTRIBUTE e text;\
         CREATE TYPE outer_comp AS (inner_v comp, arr int4[], dt date);\
         CREATE TYPE floatrange AS RANGE (subtype = float8); CREATE TYPE textrange AS RANGE (subtype = text, collation = \"C\");",
    )
    .map_err(|e| e.to_string())?;
    let cases = cases(install.major);
    let mut script = String::new();
    for (n, cs) in cases.iter().enumerate() {
        let _ = writeln!(script, "CREATE TABLE t_{n} (id int, v {});", cs.ty);
        let _ = writeln!(
            script,
            "DO $$ BEGIN IF (SELECT typlen = -1 AND typstorage <> 'p' FROM pg_type WHERE oid = '{}'::regtype) THEN \
             EXECUTE 'ALTER TABLE t_{n} ALTER v SET STORAGE EXTERNAL'; END IF; END $$;",
            cs.ty.replace('\'', "''")
        );
        let vals: Vec<String> = cs
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("({i}, {v})"))
            .collect();
        let _ = writeln!(script, "INSERT INTO t_{n} VALUES {};", vals.join(", "));
    }
    c.psql(&script).map_err(|e| e.to_string())?;
    let cat = server_catalog(&c)?;

    let mut failures = Vec::new();
    let mut n_checked = 0usize;
    for (n, cs) in cases.iter().enumerate() {
        let table = format!("t_{n}");
        let attr = c
            .psql(&format!("SELECT atttypid, atttypmod FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attname = 'v'"))
            .map_err(|e| e.to_string())?;
        let (oid, typmod) = attr.trim().split_once('|').unwrap();
        let (oid, typmod): (u32, i32) = (oid.parse().unwrap(), typmod.parse().unwrap());
        let info = cat
            .type_info(oid)
            .ok_or_else(|| format!("type {} (oid {oid}) not in catalog", cs.ty))?;
        let rows = fetch_rows(&c, &table)?;
        if rows.len() != cs.values.len() {
            return Err(format!(
                "{table}: {} rows on pages, {} inserted",
                rows.len(),
                cs.values.len()
            ));
        }
        let mut copy_expected = String::new();
        let mut csv_expected = String::new();
        let mut literals = Vec::new();
        for row in &rows {
            let ours = match &row.raw {
                None => None,
                Some(raw) => {
                    let datum = if info.typlen == -1 {
                        varlena_payload(raw)
                            .map_err(|e| format!("{} value {}: {e}", cs.ty, cs.values[row.id]))?
                    } else {
                        raw.as_slice()
                    };
                    let got = output(&cat, oid, typmod, datum);
                    let mut via = String::new();
                    let prepared = Printer::new(&cat, oid)
                        .and_then(|p| p.write(&cat, datum, &mut via))
                        .map(|()| via);
                    if prepared != got {
                        failures.push(format!(
                            "{}: Printer gives {prepared:?}, output {got:?}",
                            cs.ty
                        ));
                    }
                    n_checked += 1;
                    match (&got, &row.text) {
                        (Ok(g), Some(t)) if g == t => {}
                        _ => failures.push(format!(
                            "{} value {} (raw {}): ours {:?}, server {:?}",
                            cs.ty,
                            cs.values[row.id],
                            raw.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                            got,
                            row.text
                        )),
                    }
                    got.ok()
                }
            };
            let _ = write!(copy_expected, "{}\t", row.id);
            let _ = write!(csv_expected, "{},", row.id);
            match &ours {
                None => copy_expected.push_str("\\N"),
                Some(s) => {
                    copy_text_escape(s, &mut copy_expected);
                    csv_quote(s, &mut csv_expected);
                    literals.push((row.id, sql_literal(&cat, oid, s), s.clone()));
                }
            }
            copy_expected.push('\n');
            csv_expected.push('\n');
        }
        let copy = c
            .psql(&format!(
                "COPY (SELECT id, v FROM {table} ORDER BY id) TO STDOUT"
            ))
            .map_err(|e| e.to_string())?;
        if copy != copy_expected {
            failures.push(format!(
                "{}: COPY text differs:\nserver {copy:?}\nours   {copy_expected:?}",
                cs.ty
            ));
        }
        let csv = c
            .psql(&format!(
                "COPY (SELECT id, v FROM {table} ORDER BY id) TO STDOUT (FORMAT csv)"
            ))
            .map_err(|e| e.to_string())?;
        if csv != csv_expected {
            failures.push(format!(
                "{}: COPY csv differs:\nserver {csv:?}\nours   {csv_expected:?}",
                cs.ty
            ));
        }
        if !literals.is_empty() {
            let q: Vec<String> = literals
                .iter()
                .map(|(id, l, _)| {
                    format!("SELECT {id}, encode(convert_to(format('%s', {l}), 'UTF8'), 'hex')")
                })
                .collect();
            let back = c
                .psql(&format!("{};", q.join(" UNION ALL ")))
                .map_err(|e| e.to_string())?;
            let back: BTreeMap<usize, String> = back
                .lines()
                .map(|l| {
                    let (id, h) = l.split_once('|').unwrap();
                    (id.parse().unwrap(), String::from_utf8(unhex(h)).unwrap())
                })
                .collect();
            for (id, l, s) in &literals {
                if back.get(id) != Some(s) {
                    failures.push(format!(
                        "{}: literal {l} reads back as {:?}",
                        cs.ty,
                        back.get(id)
                    ));
                }
            }
        }
    }
    // A lone `\.` in a single-column CSV row is quoted (end-of-data marker).
    for v in ["\\.", "a", ""] {
        let server = c
            .psql(&format!("COPY (SELECT {}) TO STDOUT (FORMAT csv)", lit(v)))
            .map_err(|e| e.to_string())?;
        let mut ours = String::new();
        csv_quote_single_column(v, &mut ours);
        ours.push('\n');
        if server != ours {
            failures.push(format!(
                "single-column CSV of {v:?}: server {server:?}, ours {ours:?}"
            ));
        }
    }
    if n_checked < 500 {
        return Err(format!("only {n_checked} values checked"));
    }
    if failures.is_empty() {
        eprintln!("pg{}: {n_checked} values match the server", install.major);
        Ok(())
    } else {
        Err(format!(
            "{} mismatches of {n_checked}:\n{}",
            failures.len(),
            failures.join("\n")
        ))
    }
}

fn run_catalog(install: &PgInstall) -> Result<(), String> {
    let c = start(install)?;
    let cat = TypeMap::builtin();
    let mut ours: Vec<String> = cat
        .types_unsorted()
        .map(|t| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{}",
                t.oid,
                t.name,
                t.typlen,
                if t.typbyval { "t" } else { "f" },
                t.typalign as char,
                t.typtype as char,
                t.typelem,
                t.typoutput
            )
        })
        .collect();
    ours.sort();
    let oids: Vec<String> = cat.types_unsorted().map(|t| t.oid.to_string()).collect();
    let server = c
        .psql(&format!(
            "SELECT oid::text || '|' || typname || '|' || typlen || '|' || CASE WHEN typbyval THEN 't' ELSE 'f' END || '|' || \
             typalign::text || '|' || typtype::text || '|' || typelem || '|' || typoutput::text FROM pg_type WHERE oid IN ({}) ORDER BY 1",
            oids.join(",")
        ))
        .map_err(|e| e.to_string())?;
    let server: Vec<String> = server.lines().map(str::to_owned).collect();
    if server == ours {
        Ok(())
    } else {
        let diff: Vec<String> = ours
            .iter()
            .filter(|o| !server.contains(o))
            .cloned()
            .collect();
        Err(format!(
            "TypeMap differs from pg_type: ours not on server: {diff:#?}\nserver: {server:#?}"
        ))
    }
}
