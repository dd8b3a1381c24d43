-- 0002: seq becomes the ReceivedAt time in Unix microseconds (it was
-- milliseconds, see 0001).
--
-- With one value a millisecond, a flood of 10 messages a millisecond
-- collided on every insert: each walked the run of taken values to the
-- next free one (O(n) per message), and seq drifted minutes ahead of the
-- time it stands for in before:/after: and the statistics. A microsecond
-- leaves room for a thousand messages a millisecond.
--
-- Every seq, and every key that refers to one, is multiplied by 1000, so
-- the reader's marks (read, tags) and the labels stay with their
-- message; rowid order stays arrival order. No trigger fires on a change
-- of seq, so the totals in counts stay as they are; the partial index
-- messages_unread follows its rows.

-- message_info and labels refer to messages(seq) without ON UPDATE: in
-- between the statements below they point at keys that are not there
-- yet. Deferred, the foreign keys are checked at the commit of this step
-- instead (PRAGMA foreign_keys cannot change inside a transaction; this
-- one can, and resets itself at the commit).
PRAGMA defer_foreign_keys = ON;

-- Through negative values first: seq -> seq * 1000 in one pass could meet
-- a row not yet renumbered (1 -> 1000 while 1000 is still there), and a
-- primary key is checked row by row. seq >= 0 (see seqBase), so -1 - seq
-- is negative and one-to-one. The largest seq is about 2^53 (the clamp of
-- the milliseconds) plus a run, and 2^53 * 1000 < 2^63: no overflow.
UPDATE messages SET seq = -1 - seq;
UPDATE message_info SET seq = -1 - seq;
UPDATE labels SET msg = -1 - msg;
UPDATE messages SET seq = (-1 - seq) * 1000;
UPDATE message_info SET seq = (-1 - seq) * 1000;
UPDATE labels SET msg = (-1 - msg) * 1000;

-- The full-text table is contentless: its rowids cannot be renumbered and
-- it keeps no copy of the text to re-insert. It is emptied, and the
-- messages whose words must be indexed again from their files are listed
-- in fts_stale; Indexer.Reconcile does that and empties the list. Until
-- then searches on words, from:, to: and subject: leave them out, negated
-- ones too (search.go); every other filter finds them.
INSERT INTO messages_fts(messages_fts) VALUES ('delete-all');

CREATE TABLE fts_stale (
    id TEXT PRIMARY KEY
) WITHOUT ROWID;
INSERT INTO fts_stale(id) SELECT id FROM messages;
