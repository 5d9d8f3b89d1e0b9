-- Batch issuance: one officer files many requests at once (JSON lines);
-- every row is validated before anything is stored; distinct officers
-- other than the filer approve the whole batch (as many as the strictest
-- profile in it demands); a background job then has the CA issue the rows
-- in chunks. Each row is a cert_requests row with batch_id and batch_row,
-- so the request list, downloads, revocation and the audit trail work for
-- batch certificates as for single ones.
--
-- status: 'pending' (waiting for approvals), 'running' (the job issues),
-- 'done', 'rejected'.
CREATE TABLE batches (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    uid                TEXT    NOT NULL UNIQUE,
    org_unit_id        INTEGER NOT NULL REFERENCES org_units(id),
    filed_by           INTEGER NOT NULL REFERENCES officers(id),
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'done', 'rejected')),
    approvals_required INTEGER NOT NULL CHECK (approvals_required >= 1),
    total              INTEGER NOT NULL,
    issued             INTEGER NOT NULL,
    failed             INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX batches_unit ON batches (org_unit_id, created_at);

CREATE TABLE batch_decisions (
    batch_id   INTEGER NOT NULL REFERENCES batches(id),
    officer_id INTEGER NOT NULL REFERENCES officers(id),
    decision   TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
    at         INTEGER NOT NULL,
    PRIMARY KEY (batch_id, officer_id)
);

ALTER TABLE cert_requests ADD COLUMN batch_id INTEGER REFERENCES batches(id);
ALTER TABLE cert_requests ADD COLUMN batch_row INTEGER;
-- Subject (RFC 4514) and SANs (JSON array of "TYPE:value") replacing the
-- CSR's, as a batch row may ask; the CA checks them against the profile.
ALTER TABLE cert_requests ADD COLUMN subject_override TEXT;
ALTER TABLE cert_requests ADD COLUMN sans_override TEXT;
CREATE INDEX cert_requests_batch ON cert_requests (batch_id, batch_row);
