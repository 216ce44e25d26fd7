-- Files uploaded for `file` fields, by who uploaded them: the bytes live in the blob store under
-- their SHA-256; this row says how large they are and what they are (sniffed from the content
-- when uploaded, never taken from the client). A user may put in a form only a file they
-- uploaded themselves. Times are UTC microseconds since the epoch.
CREATE TABLE uploads (
    sha256      TEXT    NOT NULL,
    user_name   TEXT    NOT NULL,
    size        BIGINT  NOT NULL,
    mime        TEXT,
    uploaded_at BIGINT  NOT NULL,
    PRIMARY KEY (sha256, user_name)
);
