-- API clients; certificate requests filed by officers or API clients,
-- the officers' decisions, and the certificates the CA issued for them.

-- Integrating systems (HR, CMDB, devices) registered by an administrator.
-- They authenticate with an API token (only its SHA-256 is kept) or a
-- client certificate (its SHA-256 fingerprint), act within one unit and
-- its children, and may enroll only for the profiles listed.
CREATE TABLE api_clients (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    name               TEXT    NOT NULL UNIQUE,
    org_unit_id        INTEGER NOT NULL REFERENCES org_units(id),
    token_hash         BLOB UNIQUE,
    cert_fingerprint   TEXT    UNIQUE,
    -- Comma-separated profile names this client may enroll for.
    profiles           TEXT    NOT NULL,
    -- Comma-separated client IP addresses; empty: any address.
    ip_allowlist       TEXT    NOT NULL,
    rate_per_minute    INTEGER NOT NULL CHECK (rate_per_minute >= 1),
    active             INTEGER NOT NULL,
    created_by         INTEGER NOT NULL REFERENCES officers(id),
    created_at         INTEGER NOT NULL,
    CHECK (token_hash IS NOT NULL OR cert_fingerprint IS NOT NULL)
);

-- `uid` is the request's public id; the RA calls the CA with request id
-- `ra:<uid>`, so a retried issuance never issues twice (the CA treats
-- request ids as idempotency keys, forever).
--
-- status: 'pending' (waiting for approvals), 'approved' (enough approvals;
-- issuance not yet confirmed by the CA: it is retried with the same
-- request id), 'issued', 'rejected', 'failed' (the CA refused).
CREATE TABLE cert_requests (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    uid                TEXT    NOT NULL UNIQUE,
    org_unit_id        INTEGER NOT NULL REFERENCES org_units(id),
    profile            TEXT    NOT NULL,
    csr_pem            TEXT    NOT NULL,
    subject            TEXT    NOT NULL,
    approvals_required INTEGER NOT NULL CHECK (approvals_required >= 0),
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'issued', 'rejected', 'failed')),
    -- Filed by an officer, or by an API client (then approvals_required is 0:
    -- registering the client for the profile was the approval).
    filed_by           INTEGER REFERENCES officers(id),
    api_client_id      INTEGER REFERENCES api_clients(id),
    filed_at           INTEGER NOT NULL,
    comment            TEXT    NOT NULL,
    failure            TEXT,
    serial             TEXT,
    issuer             TEXT,
    certificate_pem    TEXT,
    chain_pem          TEXT,
    not_after          INTEGER,
    -- 'good', 'suspended' or 'revoked', as the CA last answered.
    cert_status        TEXT CHECK (cert_status IN ('good', 'suspended', 'revoked')),
    revocation_reason  TEXT,
    updated_at         INTEGER NOT NULL,
    -- Filed through the portal by the holder of this certificate (serial):
    -- a renewal.
    renewal_of         TEXT,
    CHECK ((CASE WHEN filed_by IS NULL THEN 0 ELSE 1 END)
         + (CASE WHEN api_client_id IS NULL THEN 0 ELSE 1 END)
         + (CASE WHEN renewal_of IS NULL THEN 0 ELSE 1 END) = 1)
);
CREATE INDEX cert_requests_unit ON cert_requests (org_unit_id, status, filed_at);
CREATE INDEX cert_requests_subject ON cert_requests (subject);
CREATE INDEX cert_requests_status ON cert_requests (status, filed_at);
CREATE UNIQUE INDEX cert_requests_serial ON cert_requests (serial) WHERE serial IS NOT NULL;

-- One decision per officer and request: separation of duties counts
-- distinct officers, and the filer is refused before a row is written.
CREATE TABLE request_decisions (
    request_id INTEGER NOT NULL REFERENCES cert_requests(id),
    officer_id INTEGER NOT NULL REFERENCES officers(id),
    decision   TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment    TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (request_id, officer_id)
);
