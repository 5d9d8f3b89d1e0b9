-- RA database, phase A: organisation units, officers, console sessions,
-- subscribers, the audit trail and its checkpoints, wrapped key blobs.
--
-- Conventions (later migrations follow them; see docs/ra.md):
-- * one file per feature, numbered: 0002_requests.sql, 0003_batches.sql, ...
--   in both dialects, with the same table and column names;
-- * times are seconds since the Unix epoch (UTC), INTEGER here, BIGINT in
--   PostgreSQL; booleans are INTEGER 0/1 here, BOOLEAN in PostgreSQL;
-- * every row that belongs to an organisation unit carries `org_unit_id`,
--   so officer scoping is one sub-select on `org_units.path`;
-- * sensitive values are stored only as token AES-GCM ciphertext (`*_enc`)
--   plus a keyed digest (`*_digest`); never in plain text.

-- The organisation tree. `path` lists the ids from the root down
-- ('/1/4/9/'): a unit's subtree is every row whose path starts with its own.
CREATE TABLE org_units (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id  INTEGER REFERENCES org_units(id),
    name       TEXT    NOT NULL,
    path       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX org_units_sibling_name ON org_units (COALESCE(parent_id, 0), name);

-- Registration officers, system administrators and security auditors.
CREATE TABLE officers (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    username             TEXT    NOT NULL UNIQUE,
    display_name         TEXT    NOT NULL,
    -- argon2id PHC string.
    password_hash        TEXT    NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 1,
    password_changed_at  INTEGER,
    -- TOTP secret, AES-GCM under the token's field key; AAD binds it to
    -- this table, column and officer id. Set at enrolment, before
    -- `totp_enabled` is, so an unconfirmed secret never logs anyone in.
    totp_secret          BLOB,
    totp_enabled         INTEGER NOT NULL DEFAULT 0,
    -- The last accepted time step: a code is never accepted twice.
    totp_last_step       INTEGER,
    role                 TEXT    NOT NULL CHECK (role IN ('sysadmin', 'officer', 'auditor')),
    org_unit_id          INTEGER NOT NULL REFERENCES org_units(id),
    failed_attempts      INTEGER NOT NULL DEFAULT 0,
    locked_until         INTEGER,
    -- SHA-256 of the DER of the certificate this officer may log in with,
    -- lowercase hex.
    cert_fingerprint     TEXT UNIQUE,
    active               INTEGER NOT NULL DEFAULT 1,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX officers_org_unit ON officers (org_unit_id);

-- Console sessions. The cookie holds 32 random bytes; only their SHA-256
-- is stored. `stage` is how far the login has come: 'totp' (password
-- accepted, code expected), 'password' (a new password must be set),
-- 'enroll' (TOTP enrolment), 'active'.
CREATE TABLE sessions (
    id_hash     BLOB    PRIMARY KEY,
    officer_id  INTEGER NOT NULL REFERENCES officers(id) ON DELETE CASCADE,
    stage       TEXT    NOT NULL CHECK (stage IN ('totp', 'password', 'enroll', 'active')),
    auth_method TEXT    NOT NULL CHECK (auth_method IN ('password', 'certificate')),
    csrf_token  TEXT    NOT NULL,
    source_ip   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_officer ON sessions (officer_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Subscribers: people, servers and devices certificates are issued to.
-- `uid` is a random public id, also bound into the AAD of the encrypted
-- fields (a ciphertext copied to another row does not decrypt).
CREATE TABLE subscribers (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    uid              TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL CHECK (kind IN ('person', 'server', 'device')),
    display_name     TEXT    NOT NULL,
    org_unit_id      INTEGER NOT NULL REFERENCES org_units(id),
    email            TEXT,
    id_number_enc    BLOB,
    id_number_digest BLOB,
    phone_enc        BLOB,
    phone_digest     BLOB,
    created_by       INTEGER NOT NULL REFERENCES officers(id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX subscribers_org_unit ON subscribers (org_unit_id, display_name);
CREATE INDEX subscribers_id_number ON subscribers (id_number_digest);
CREATE INDEX subscribers_phone ON subscribers (phone_digest);

-- The audit trail: append-only and hash-chained. hash = SHA-256 over the
-- previous hash and a canonical encoding of the other columns (see
-- signet_store::ra::chain_hash); the first event's prev_hash is 32 zeros.
CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_kind TEXT    NOT NULL CHECK (actor_kind IN ('officer', 'subscriber', 'api', 'system')),
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    outcome    TEXT    NOT NULL CHECK (outcome IN ('success', 'denied', 'error')),
    source_ip  TEXT    NOT NULL,
    details    TEXT    NOT NULL,
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_action ON audit_events (action, seq);

-- Defence in depth: the application never updates or deletes events.
-- (Someone with write access to the file can drop these triggers; the
-- chain and the signed checkpoints are what detects that.)
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

-- The chain's head: one row, updated in the appending transaction, so
-- concurrent appends are serialised (PostgreSQL row lock; SQLite's single
-- writer). A cache only: verification never trusts it.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

-- Signed checkpoints: the token's audit key signs (seq, hash, at), so a
-- chain rewritten from an edited event onwards no longer matches.
CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      BLOB    NOT NULL,
    at        INTEGER NOT NULL,
    key_id    TEXT    NOT NULL,
    signature BLOB    NOT NULL
);

-- Keys kept wrapped by a token key (AES-GCM), e.g. the HMAC key of the
-- sensitive-field digests. Unwrapped into zeroizing memory at start.
CREATE TABLE key_blobs (
    name            TEXT    PRIMARY KEY,
    token_key_label TEXT    NOT NULL,
    blob            BLOB    NOT NULL,
    created_at      INTEGER NOT NULL
);
