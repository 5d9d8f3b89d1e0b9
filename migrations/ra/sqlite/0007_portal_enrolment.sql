-- The subscribers' portal: one-time enrolment codes, and the revocation
-- of certificates superseded by a portal renewal.

-- An officer hands a subscriber a one-time code (shown once; only its
-- SHA-256 is kept) for a profile and unit, optionally tied to a
-- subscriber record and carrying the vetted subject and SANs that replace
-- the CSR's. The subscriber redeems it in the portal with a CSR: that
-- files one request (filed_by = the officer who made the code, so that
-- officer never approves it), and the same code then shows the request's
-- status and hands over the certificate once.
--
-- status: 'open' (not used yet), 'redeemed' (request filed), 'spent'
-- (certificate downloaded), 'revoked' (an officer withdrew it, or its
-- officer was disabled). An open code past expires_at is refused; a
-- redeemed one is usable (status, download) until download_expires_at,
-- set at redemption to that time plus the code lifetime, so an approval
-- that takes long does not cost the subscriber the certificate.
CREATE TABLE enrolment_codes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    uid              TEXT    NOT NULL UNIQUE,
    code_hash        BLOB    NOT NULL UNIQUE,
    org_unit_id      INTEGER NOT NULL REFERENCES org_units(id),
    profile          TEXT    NOT NULL,
    subscriber_id    INTEGER REFERENCES subscribers(id),
    -- RFC 4514, and a JSON array of "TYPE:value": replace the CSR's.
    subject_override TEXT,
    sans_override    TEXT,
    created_by       INTEGER NOT NULL REFERENCES officers(id),
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    download_expires_at INTEGER,
    status           TEXT    NOT NULL CHECK (status IN ('open', 'redeemed', 'spent', 'revoked')),
    request_id       INTEGER REFERENCES cert_requests(id),
    updated_at       INTEGER NOT NULL
);
CREATE INDEX enrolment_codes_unit ON enrolment_codes (org_unit_id, created_at);
-- Disabling an officer withdraws their open codes.
CREATE INDEX enrolment_codes_officer ON enrolment_codes (created_by) WHERE status = 'open';

-- A certificate renewed through the portal is revoked (reason superseded)
-- once the grace period after its renewal's issuance has passed. One row
-- per renewed certificate; the background task revokes due rows through
-- the CA and retries after failures.
--
-- status: 'scheduled', 'done' (revoked, or found already revoked),
-- 'failed' (the CA refused; an officer decides), 'cancelled' (the renewal
-- was no longer issued and good when the revocation fell due, so the old
-- certificate stays).
CREATE TABLE superseded_revocations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id         INTEGER NOT NULL UNIQUE REFERENCES cert_requests(id),
    serial             TEXT    NOT NULL,
    renewal_request_id INTEGER NOT NULL REFERENCES cert_requests(id),
    due_at             INTEGER NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('scheduled', 'done', 'failed', 'cancelled')),
    attempts           INTEGER NOT NULL,
    next_attempt_at    INTEGER NOT NULL,
    last_error         TEXT,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX superseded_revocations_due ON superseded_revocations (status, next_attempt_at);
