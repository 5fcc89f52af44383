#!/usr/bin/env python3
"""Deterministic generator of damaged SQLite files with ground truth.

Usage: make_damaged.py OUT_DIR [SQLITE3]

Builds base.db with the real sqlite3 CLI (secure_delete OFF, a deleted-row
workload, an index, overflow rows), records ground truth from sqlite3 itself
(every live row as `SELECT *` prints it, and the rows the workload deleted),
then writes one damaged copy per case and OUT_DIR/ground_truth.json:

  {"tables": {"people": {"columns": [...], "live": [[...]], "deleted": [[...]]}, ...},
   "cases": {"zeroed_header": {"file": "zeroed_header.db", "min_live_recall": 1.0,
             "min_deleted_recall": 0.5, "what": "..."}, ...}}

The thresholds are regression floors: what datam reached when this was
written (a zeroed leaf page loses its rows; deleted rows of the
INTEGER PRIMARY KEY table need their rowid, which a freeblock header
destroys and which is inferred only where live neighbours pin it down).
app/tests/sqlite_damaged.rs compares datam's output to them.
"""
import json, os, random, subprocess, sys

out = sys.argv[1]
sqlite3 = sys.argv[2] if len(sys.argv) > 2 else "sqlite3"
os.makedirs(out, exist_ok=True)
base = os.path.join(out, "base.db")
if os.path.exists(base):
    os.remove(base)

PAGE = 1024
N = 400
def person(i):
    return (i, "name%04d" % i, 18 + i % 60, round(i * 1.25 + 0.5, 2), bytes([i % 256, (i * 7) % 256]).hex())
def note(i):
    body = ("note %d " % i) * (3 if i % 10 else 200)  # every 10th spills to overflow pages
    return (i, body)

sql = ["PRAGMA page_size=%d;" % PAGE, "PRAGMA secure_delete=OFF;", "PRAGMA auto_vacuum=NONE;",
       "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INT, score REAL, photo BLOB);",
       "CREATE TABLE notes(n INTEGER, body TEXT);",
       "CREATE INDEX people_name ON people(name);", "BEGIN;"]
for i in range(1, N + 1):
    p = person(i)
    sql.append("INSERT INTO people VALUES(%d,'%s',%d,%r,X'%s');" % p)
for i in range(1, 201):
    sql.append("INSERT INTO notes VALUES(%d,'%s');" % note(i))
sql.append("COMMIT;")
deleted_ids = [i for i in range(1, N + 1) if i % 7 == 0]
sql.append("DELETE FROM people WHERE id % 7 = 0;")
sql.append("DELETE FROM notes WHERE n % 9 = 0;")
subprocess.run([sqlite3, "-batch", "-bail", base], input="\n".join(sql).encode(), check=True)

def rows(table):
    sel = "id, name, age, score, lower(hex(photo)) AS photo" if table == "people" else "*"
    p = subprocess.run([sqlite3, "-json", base, "SELECT %s FROM %s" % (sel, table)], capture_output=True, check=True)
    txt = p.stdout.decode() or "[]"
    return json.loads(txt)

def cols(table):
    p = subprocess.run([sqlite3, base, "SELECT name FROM pragma_table_info('%s')" % table], capture_output=True, check=True)
    return p.stdout.decode().split()

truth = {"tables": {}, "cases": {}}
for t in ["people", "notes"]:
    c = cols(t)
    live = [[r[k] for k in c] for r in rows(t)]
    truth["tables"][t] = {"columns": c, "live": live}
truth["tables"]["people"]["deleted"] = [[p[0], p[1], p[2], p[3], {"blob_hex": p[4]}] for p in (person(i) for i in deleted_ids)]
truth["tables"]["notes"]["deleted"] = [list(note(i)) for i in range(9, 201, 9)]
for t in truth["tables"].values():
    for r in t["live"]:
        for j, v in enumerate(r):
            if isinstance(v, str) and t["columns"][j] == "photo":
                r[j] = {"blob_hex": v.lower()}

data = open(base, "rb").read()
npages = len(data) // PAGE
def page(b, n):
    return bytearray(b[(n - 1) * PAGE: n * PAGE])

def root_of(table):
    p = subprocess.run([sqlite3, base, "SELECT rootpage FROM sqlite_master WHERE name='%s'" % table], capture_output=True, check=True)
    return int(p.stdout.decode().strip())

rng = random.Random(1234)
def leaf_pages():
    """Table-leaf pages (type 0x0d) other than page 1."""
    return [n for n in range(2, npages + 1) if data[(n - 1) * PAGE] == 0x0D]

def write(name, b, what, live, deleted):
    open(os.path.join(out, name + ".db"), "wb").write(bytes(b))
    truth["cases"][name] = {"file": name + ".db", "what": what, "min_live_recall": live, "min_deleted_recall": deleted}

write("intact", data, "no damage", 1.0, 0.7)
b = bytearray(data); b[0:100] = bytes(100)
write("zeroed_header", b, "first 100 bytes zeroed: page size and encoding must be inferred", 1.0, 0.7)
leaves = leaf_pages()
b = bytearray(data); z = leaves[len(leaves) // 2]; b[(z - 1) * PAGE: z * PAGE] = bytes(PAGE)
write("zeroed_page", b, "one table-leaf page (%d) zeroed" % z, 0.95, 0.6)
r = root_of("people")
b = bytearray(data); b[(r - 1) * PAGE + 12: r * PAGE] = bytes(rng.randrange(256) for _ in range(PAGE - 12))
write("garbage_interior", b, "people's root interior page %d after its header filled with random bytes" % r, 1.0, 0.7)
b = bytearray(data[: int(len(data) * 0.7) + 100])
write("truncated", b, "file cut at 70%% + 100 bytes", 0.8, 0.55)
b = bytearray(data)
for n in leaves[:6]:
    o = (n - 1) * PAGE
    fb = int.from_bytes(b[o + 1:o + 3], "big")
    if fb:
        b[o + fb: o + fb + 2] = fb.to_bytes(2, "big")  # freeblock points to itself (loop)
write("freeblock_loop", b, "freeblock chains made to loop on six leaf pages", 1.0, 0.4)
b = bytearray(data)
trunk = int.from_bytes(b[32:36], "big")
if trunk:
    o = (trunk - 1) * PAGE
    b[o + 4: o + 8] = (0xFFFFFFF0).to_bytes(4, "big")
    b[o: o + 4] = trunk.to_bytes(4, "big")  # trunk points to itself
write("freelist_trunk", b, "freelist trunk: huge leaf count, next trunk = itself", 1.0, 0.7)
b = bytearray(data)
for n in leaves[:4]:
    o = (n - 1) * PAGE
    b[o + 8: o + 10] = (0xFFF0).to_bytes(2, "big")  # first cell pointer out of the page
write("cell_pointer", b, "first cell pointer of four leaf pages points past the page", 0.99, 0.7)
b = bytearray(data)
hits = 0
for n in leaves[:4]:
    o = (n - 1) * PAGE
    ptr = int.from_bytes(b[o + 8: o + 10], "big")
    # cell: payload varint, rowid varint, header size, first serial type; set a later serial type to 10
    c = o + ptr
    for k in range(c, c + 6):
        if b[k] in (1, 2, 3, 4) and hits < 4:
            b[k] = 10; hits += 1; break
write("serial_type", b, "a serial type byte set to reserved 10 in four cells", 0.99, 0.7)
b = bytearray(data)
b[16:18] = (3000).to_bytes(2, "big")
write("bad_page_size", b, "page-size field set to 3000 (invalid)", 1.0, 0.7)
b = bytearray(data)
for n in leaves[::5]:
    o = (n - 1) * PAGE
    b[o + 3: o + 5] = (0xFFFF).to_bytes(2, "big")  # cell count absurd
write("cell_count", b, "cell count 65535 on every fifth leaf page", 1.0, 0.65)
json.dump(truth, open(os.path.join(out, "ground_truth.json"), "w"), indent=1)
print("wrote %d cases to %s" % (len(truth["cases"]), out))
