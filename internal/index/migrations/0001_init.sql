-- 0001: messages, their labels and full-text index; SMTP sessions.
--
-- Times are Unix nanoseconds (INTEGER), 0 for "unknown", except seq
-- (milliseconds, see messages). Lists of
-- addresses are JSON arrays of strings. The files in the store are the
-- source of truth: every row here can be rebuilt from them, except the
-- reader's own marks (read, tags).

-- messages holds what searches filter and count on, and nothing else:
-- at about 100 bytes a row, 100,000 messages fit in the page cache, so
-- checking a full-text match against it costs a cached b-tree probe. The
-- columns shown in a list are in message_info, read only for a page.
CREATE TABLE messages (
    -- seq is the rowid and the key of everything else. It is the
    -- ReceivedAt time in Unix milliseconds (moved up to the next free
    -- value when taken), so rowid order is arrival order: a full-text
    -- search can walk its matches newest first and stop at one page.
    seq           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    read          INTEGER NOT NULL DEFAULT 0,
    size          INTEGER NOT NULL DEFAULT 0,
    attachments   INTEGER NOT NULL DEFAULT 0,
    -- ip_key is the 16-byte form of the client IP (IPv4 mapped into
    -- IPv6), so that a CIDR prefix is a BETWEEN range; NULL when unknown.
    ip_key        BLOB,
    helo          TEXT    NOT NULL DEFAULT '',
    sender_domain TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX messages_size ON messages(size);
CREATE INDEX messages_ip ON messages(ip_key);
-- is:unread, newest first, without touching read messages.
CREATE INDEX messages_unread ON messages(seq) WHERE read = 0;

CREATE TABLE message_info (
    seq         INTEGER PRIMARY KEY REFERENCES messages(seq) ON DELETE CASCADE,
    session     TEXT    NOT NULL DEFAULT '',
    received_at INTEGER NOT NULL,
    client_ip   TEXT    NOT NULL DEFAULT '',
    client_port INTEGER NOT NULL DEFAULT 0,
    mail_from   TEXT    NOT NULL DEFAULT '',
    rcpt_to     TEXT    NOT NULL DEFAULT '[]',
    from_hdr    TEXT    NOT NULL DEFAULT '[]',
    to_hdr      TEXT    NOT NULL DEFAULT '[]',
    cc_hdr      TEXT    NOT NULL DEFAULT '[]',
    subject     TEXT    NOT NULL DEFAULT '',
    date        INTEGER NOT NULL DEFAULT 0,
    message_id  TEXT    NOT NULL DEFAULT '',
    -- The first From address (else MAIL FROM), lower-case: the "from"
    -- sort key.
    sort_from   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX message_info_subject ON message_info(subject COLLATE NOCASE);
CREATE INDEX message_info_from ON message_info(sort_from);

-- Labels are the multi-valued marks a search filters on exactly:
-- kind 1 verdict, 2 finding, 3 tag.
CREATE TABLE labels (
    msg   INTEGER NOT NULL REFERENCES messages(seq) ON DELETE CASCADE,
    kind  INTEGER NOT NULL,
    value TEXT    NOT NULL COLLATE NOCASE,
    PRIMARY KEY (kind, value, msg)
) WITHOUT ROWID;
CREATE INDEX labels_msg ON labels(msg);

-- Contentless: the text is only searched, never shown from here (the
-- file has it), so the index keeps no copy of it. contentless_delete
-- lets a row be deleted by rowid alone. sender is From and MAIL FROM;
-- recipients To, Cc and RCPT TO.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    subject, sender, recipients, body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- FTS5 merges its segments as it goes. Merging 16 at a level instead of
-- 4 cut the work per inserted message by about a third (bench/indexbench:
-- 930 -> 1450 messages/s at 100,000) without slowing the searches
-- measured; crisismerge above it keeps the merging incremental.
INSERT INTO messages_fts(messages_fts, rank) VALUES ('automerge', 16);
INSERT INTO messages_fts(messages_fts, rank) VALUES ('crisismerge', 64);

-- counts keeps the totals of the whole index (one row), so that the
-- first page of an unfiltered list does not count 100,000 rows.
CREATE TABLE counts (
    one    INTEGER PRIMARY KEY CHECK (one = 1),
    total  INTEGER NOT NULL,
    unread INTEGER NOT NULL
);
INSERT INTO counts VALUES (1, 0, 0);
CREATE TRIGGER counts_insert AFTER INSERT ON messages BEGIN
    UPDATE counts SET total = total + 1, unread = unread + (NEW.read = 0);
END;
CREATE TRIGGER counts_delete AFTER DELETE ON messages BEGIN
    UPDATE counts SET total = total - 1, unread = unread - (OLD.read = 0);
END;
CREATE TRIGGER counts_read AFTER UPDATE OF read ON messages WHEN OLD.read != NEW.read BEGIN
    UPDATE counts SET unread = unread + (NEW.read = 0) - (OLD.read = 0);
END;

CREATE TABLE sessions (
    id          TEXT    PRIMARY KEY,
    start       INTEGER NOT NULL,
    end         INTEGER NOT NULL DEFAULT 0,
    client_ip   TEXT    NOT NULL DEFAULT '',
    client_port INTEGER NOT NULL DEFAULT 0,
    helo        TEXT    NOT NULL DEFAULT '',
    tls         INTEGER NOT NULL DEFAULT 0,
    auth_user   TEXT    NOT NULL DEFAULT '',
    accepted    INTEGER NOT NULL DEFAULT 0,
    refused     INTEGER NOT NULL DEFAULT 0,
    errors      INTEGER NOT NULL DEFAULT 0,
    early_talk  INTEGER NOT NULL DEFAULT 0,
    tarpitted   INTEGER NOT NULL DEFAULT 0,
    trap_hit    INTEGER NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL DEFAULT '',
    dns_lists   TEXT    NOT NULL DEFAULT '[]',
    findings    TEXT    NOT NULL DEFAULT '[]',
    verdicts    TEXT    NOT NULL DEFAULT '[]',
    message_ids TEXT    NOT NULL DEFAULT '[]'
);
CREATE INDEX sessions_start ON sessions(start);
CREATE INDEX sessions_ip ON sessions(client_ip, start);

-- Transcripts are long and rarely read: apart, so that the scans for
-- statistics do not wade through them.
CREATE TABLE transcripts (
    session TEXT NOT NULL PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    text    TEXT NOT NULL
);
