-- The known workload of corpora/pg15 (run by make.sh on a fresh cluster).
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE people (
    id integer PRIMARY KEY,
    name text NOT NULL,
    email varchar(80),
    balance numeric(12,2),
    score double precision,
    born date,
    seen timestamptz,
    tags text[],
    doc jsonb,
    photo bytea,
    feel mood
);
INSERT INTO people
SELECT i,
       'person ' || i,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 'p' || i || '@example.org' END,
       (i * 12.34)::numeric(12,2),
       CASE WHEN i % 11 = 0 THEN NULL ELSE i / 3.0 END,
       date '1970-01-01' + i * 97,
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour 1 minute 1.5 second',
       ARRAY['t' || (i % 5), NULL, 'x"y'],
       jsonb_build_object('i', i, 'even', i % 2 = 0, 'list', jsonb_build_array(i, i * 2)),
       decode(lpad(to_hex(i), 8, '0'), 'hex'),
       (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood
FROM generate_series(1, 300) AS i;
-- One wide row whose text is TOASTed (compressible) and one that is not compressible.
INSERT INTO people (id, name, email) VALUES (1001, repeat('long text ', 4000), 'toast@example.org');
INSERT INTO people (id, name) SELECT 1002, string_agg(md5(g::text), '') FROM generate_series(1, 400) g;
CHECKPOINT;
-- The "mistake": a DELETE and an UPDATE, committed.
BEGIN;
DELETE FROM people WHERE id % 10 = 3;
UPDATE people SET balance = 0, name = name || ' (edited)' WHERE id BETWEEN 100 AND 120;
COMMIT;
-- Later legitimate work.
INSERT INTO people (id, name, email) VALUES (2001, 'late arrival', 'late@example.org');
UPDATE people SET score = -1.5 WHERE id = 2;
-- An aborted transaction.
BEGIN;
INSERT INTO people (id, name) VALUES (3001, 'never committed');
DELETE FROM people WHERE id = 1;
ROLLBACK;
-- A second table, dropped columns and a default added later.
CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text, gone int, at timestamp);
INSERT INTO notes (body, gone, at) SELECT 'note ' || g, g, timestamp '2020-02-29 12:00:00' + g * interval '1 day' FROM generate_series(1, 50) g;
ALTER TABLE notes DROP COLUMN gone;
ALTER TABLE notes ADD COLUMN flag boolean DEFAULT true;
INSERT INTO notes (body) VALUES ('after alter');
