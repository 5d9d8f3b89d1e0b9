-- no-transaction
-- Batches filed through the REST API (POST /api/v1/batches). An API
-- client's registration for its profiles is the approval, as for its
-- single enrolments, so such a batch has no filing officer: filed_by may
-- be NULL, api_client_id names the client (exactly one of the two is
-- set), and approvals_required is 0 for it (at least 1 for officers'
-- batches, as before).
--
-- job_owner and job_lease_until: the RA instance running the batch's
-- background job and until when (Unix seconds) its claim holds; another
-- instance takes the batch over only once the lease has run out.
--
-- SQLite cannot relax NOT NULL or CHECK in place: the table is rebuilt as
-- https://www.sqlite.org/lang_altertable.html ("Making Other Kinds Of
-- Table Schema Changes") prescribes, with foreign keys off for the copy
-- (batch_decisions and cert_requests keep pointing at the same ids). The
-- PRAGMA has no effect inside a transaction, hence no-transaction above
-- and an explicit one here.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE batches_new (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    uid                TEXT    NOT NULL UNIQUE,
    org_unit_id        INTEGER NOT NULL REFERENCES org_units(id),
    filed_by           INTEGER REFERENCES officers(id),
    api_client_id      INTEGER REFERENCES api_clients(id),
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'done', 'rejected')),
    approvals_required INTEGER NOT NULL CHECK (approvals_required >= 0),
    total              INTEGER NOT NULL,
    issued             INTEGER NOT NULL,
    failed             INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    job_owner          TEXT,
    job_lease_until    INTEGER,
    CHECK ((filed_by IS NULL) <> (api_client_id IS NULL)),
    CHECK (approvals_required >= 1 OR api_client_id IS NOT NULL)
);
INSERT INTO batches_new (id, uid, org_unit_id, filed_by, api_client_id, status,
                         approvals_required, total, issued, failed, created_at, updated_at)
    SELECT id, uid, org_unit_id, filed_by, NULL, status,
           approvals_required, total, issued, failed, created_at, updated_at
    FROM batches;
DROP TABLE batches;
ALTER TABLE batches_new RENAME TO batches;
CREATE INDEX batches_unit ON batches (org_unit_id, created_at);
COMMIT;
PRAGMA foreign_keys = ON;
