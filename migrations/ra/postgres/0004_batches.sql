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
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid                TEXT    NOT NULL UNIQUE,
    org_unit_id        BIGINT NOT NULL REFERENCES org_units(id),
    filed_by           BIGINT NOT NULL REFERENCES officers(id),
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'done', 'rejected')),
    approvals_required BIGINT NOT NULL CHECK (approvals_required >= 1),
    total              BIGINT NOT NULL,
    issued             BIGINT NOT NULL,
    failed             BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX batches_unit ON batches (org_unit_id, created_at);

CREATE TABLE batch_decisions (
    batch_id   BIGINT NOT NULL REFERENCES batches(id),
    officer_id BIGINT NOT NULL REFERENCES officers(id),
    decision   TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
    at         BIGINT NOT NULL,
    PRIMARY KEY (batch_id, officer_id)
);

ALTER TABLE cert_requests ADD COLUMN batch_id BIGINT REFERENCES batches(id);
ALTER TABLE cert_requests ADD COLUMN batch_row BIGINT;
-- Subject (RFC 4514) and SANs (JSON array of "TYPE:value") replacing the
-- CSR's, as a batch row may ask; the CA checks them against the profile.
ALTER TABLE cert_requests ADD COLUMN subject_override TEXT;
ALTER TABLE cert_requests ADD COLUMN sans_override TEXT;
CREATE INDEX cert_requests_batch ON cert_requests (batch_id, batch_row);
