-- Messages of the mailboxes `tramite serve --mailboxes` reads, one row per message taken or
-- refused, by the mailbox's name, the folder's UIDVALIDITY and the message's UID (UIDs are
-- unique and ascending only under one UIDVALIDITY). `instance_id` is the case the message
-- started (or found, when another node or an earlier run started it): set once the case is
-- committed; `marked` once the message is flagged \Seen or moved on the server. A message the
-- start form refused has no case: `attempts` refusals so far, the last `error`, and `retry_at`
-- (NULL: not tried again, the message left the folder). Times are UTC microseconds.
CREATE TABLE mailbox_messages (
    mailbox       TEXT    NOT NULL,
    uidvalidity   BIGINT  NOT NULL,
    uid           BIGINT  NOT NULL,
    message_id    TEXT,
    instance_id   TEXT,
    marked        BOOLEAN NOT NULL DEFAULT FALSE,
    attempts      BIGINT  NOT NULL DEFAULT 0,
    error         TEXT,
    retry_at      BIGINT,
    first_seen_at BIGINT  NOT NULL,
    taken_at      BIGINT,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
-- A poll reads the few messages of a folder not yet marked (to mark, or to try again).
CREATE INDEX mailbox_messages_unmarked ON mailbox_messages (mailbox, uidvalidity, marked);
