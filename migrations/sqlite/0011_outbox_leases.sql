-- Several nodes send one outbox: a node leases the rows it is about to send (its name and
-- until when), so no other node takes them meanwhile; a lease that expires (the node died
-- mid-send) lets another node take the rows again.
ALTER TABLE outbox ADD COLUMN leased_by TEXT;
ALTER TABLE outbox ADD COLUMN lease_until BIGINT;
