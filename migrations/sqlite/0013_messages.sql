-- Messages of a process may carry the case's files: the file values (name, sha256, size, type)
-- as a JSON list, read from the blob store when the message is sent.
ALTER TABLE outbox ADD COLUMN attachments TEXT;
