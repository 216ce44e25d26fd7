-- Idempotency keys belong to the caller and the process: the same key sent by another user, or
-- to another process, starts a new instance instead of answering with someone else's.
-- `start_key` (unique per user and process) replaces `idempotency_key`, whose UNIQUE
-- constraint made keys global.
ALTER TABLE instances ADD COLUMN start_key TEXT;
UPDATE instances SET start_key = idempotency_key WHERE idempotency_key IS NOT NULL;
ALTER TABLE instances DROP COLUMN idempotency_key;
CREATE UNIQUE INDEX instances_start_key ON instances (started_by, process, start_key);
