-- KMC database: the key hierarchy (root key versions, master and working
-- keys), escrowed encryption keys, key recovery requests, data-key access
-- lists and a hash-chained audit trail. Times are seconds since the Unix
-- epoch (UTC).
--
-- No column ever holds a key in plaintext. `wrapped` columns hold AES-GCM
-- blobs (nonce || ciphertext || tag): master keys under the root storage
-- key (which lives only in the token), working keys under their master,
-- escrowed private keys under a working key. Destroying a key sets its
-- `wrapped` to NULL (crypto-erase); the row stays as the record of it.

-- Names this KMC in custodian share files.
CREATE TABLE kmc_identity (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    kmc_id     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Versions of the root storage key. The key is in the token under
-- `token_label`; `check_value` (HMAC-SHA-256 of a fixed string under the
-- key) lets a restore tell that custodian shares rebuilt the right key.
CREATE TABLE root_keys (
    version     INTEGER PRIMARY KEY,
    token_label TEXT    NOT NULL,
    check_value BLOB    NOT NULL,
    shares      INTEGER NOT NULL,
    threshold   INTEGER NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('active', 'retired', 'destroyed')),
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
);

-- One master key per business domain and version, wrapped by a root version.
CREATE TABLE master_keys (
    domain       TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    root_version INTEGER NOT NULL REFERENCES root_keys (version),
    wrapped      BLOB,
    state        TEXT    NOT NULL CHECK (state IN ('active', 'retired', 'destroyed')),
    created_at   INTEGER NOT NULL,
    rotate_at    INTEGER NOT NULL,
    retired_at   INTEGER,
    destroyed_at INTEGER,
    PRIMARY KEY (domain, version)
);
CREATE UNIQUE INDEX master_keys_one_active ON master_keys (domain) WHERE state = 'active';

-- Working keys: escrow keys (`escrow.<domain>`) and named data keys, each
-- versioned; one active version per name encrypts, older ones decrypt
-- until destroyed.
CREATE TABLE working_keys (
    name           TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    domain         TEXT    NOT NULL,
    purpose        TEXT    NOT NULL CHECK (purpose IN ('escrow', 'data')),
    algorithm      TEXT    NOT NULL CHECK (algorithm IN ('aes-256-gcm', 'sm4-gcm')),
    master_version INTEGER NOT NULL,
    wrapped        BLOB,
    state          TEXT    NOT NULL CHECK (state IN ('active', 'retired', 'destroyed')),
    created_at     INTEGER NOT NULL,
    rotate_at      INTEGER NOT NULL,
    retired_at     INTEGER,
    destroyed_at   INTEGER,
    PRIMARY KEY (name, version),
    FOREIGN KEY (domain, master_version) REFERENCES master_keys (domain, version)
);
CREATE UNIQUE INDEX working_keys_one_active ON working_keys (name) WHERE state = 'active';

-- Escrowed encryption private keys (PKCS#8 under a working key), from
-- generation through archiving with their certificate and revocation to
-- destruction after the retention period.
CREATE TABLE escrowed_keys (
    id                TEXT    PRIMARY KEY,
    request_id        TEXT    NOT NULL UNIQUE,
    request_hash      BLOB    NOT NULL,
    domain            TEXT    NOT NULL,
    key_type          TEXT    NOT NULL,
    public_key        BLOB    NOT NULL,
    signing_key       BLOB    NOT NULL,
    subject           TEXT    NOT NULL,
    working_name      TEXT    NOT NULL,
    working_version   INTEGER NOT NULL,
    wrapped           BLOB,
    state             TEXT    NOT NULL CHECK (state IN ('escrowed', 'archived', 'revoked', 'destroyed')),
    issuer            TEXT,
    serial            TEXT,
    certificate       BLOB,
    not_after         INTEGER,
    revoked_at        INTEGER,
    revocation_reason TEXT,
    destroy_after     INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    destroyed_at      INTEGER,
    FOREIGN KEY (working_name, working_version) REFERENCES working_keys (name, version)
);
CREATE INDEX escrowed_keys_by_serial ON escrowed_keys (serial);
CREATE INDEX escrowed_keys_due ON escrowed_keys (destroy_after) WHERE state <> 'destroyed';
CREATE INDEX escrowed_keys_by_working_key ON escrowed_keys (working_name, working_version)
    WHERE state <> 'destroyed';

-- Key recovery: filed by one officer, approved by others, delivered once.
CREATE TABLE recoveries (
    id                 TEXT    PRIMARY KEY,
    escrow_id          TEXT    NOT NULL REFERENCES escrowed_keys (id),
    requester          TEXT    NOT NULL,
    requester_role     TEXT    NOT NULL,
    requester_client   TEXT    NOT NULL,
    reason             TEXT    NOT NULL,
    signing_key        BLOB    NOT NULL,
    required_approvals INTEGER NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'delivered', 'expired')),
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    delivered_by       TEXT,
    delivered_at       INTEGER
);

CREATE TABLE recovery_approvals (
    recovery_id     TEXT    NOT NULL REFERENCES recoveries (id),
    approver        TEXT    NOT NULL,
    approver_client TEXT    NOT NULL,
    approved_at     INTEGER NOT NULL,
    PRIMARY KEY (recovery_id, approver)
);

-- Which application clients (certificate common names) may use a data key.
CREATE TABLE data_key_clients (
    key_name   TEXT    NOT NULL,
    client     TEXT    NOT NULL,
    granted_by TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (key_name, client)
);

-- Append-only audit trail. Each entry's hash covers the previous entry's
-- hash and every field, so an edit, deletion or reordering breaks the
-- chain. `audit_head` holds the last sequence number and hash; updating it
-- serialises writers.
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    actor_role TEXT    NOT NULL,
    client     TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL
);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));
