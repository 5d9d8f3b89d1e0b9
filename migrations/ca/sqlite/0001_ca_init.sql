-- CA database: issuers, certificates, idempotency keys, CRL numbers.
-- Times are seconds since the Unix epoch (UTC). Serials are lowercase hex
-- of the positive integer, without leading zeros.

CREATE TABLE issuers (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    key_label   TEXT    NOT NULL,
    certificate BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- One row per serial ever reserved. A row is written 'pending' with the
-- exact TBS before the token signs, and completed with the certificate
-- after; serials are never reused (primary key per issuer, serial first so
-- that a serial alone finds its row).
CREATE TABLE certificates (
    issuer_id         INTEGER NOT NULL REFERENCES issuers(id),
    serial            TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'good', 'suspended', 'revoked')),
    request_id        TEXT    NOT NULL UNIQUE,
    request_hash      BLOB    NOT NULL,
    profile           TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    sans              TEXT    NOT NULL,
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    tbs               BLOB    NOT NULL,
    der               BLOB,
    revoked_at        INTEGER,
    revocation_reason INTEGER,
    invalidity_date   INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (serial, issuer_id)
);
-- Partial indexes stay small and are not touched when a certificate goes
-- from pending to good: pending rows (reconciled at start-up), revoked and
-- suspended ones (CRLs, OCSP), and expiry (renewal reminders).
CREATE INDEX certificates_pending ON certificates (created_at) WHERE status = 'pending';
CREATE INDEX certificates_revoked ON certificates (issuer_id, revoked_at)
    WHERE status IN ('revoked', 'suspended');
CREATE INDEX certificates_by_expiry ON certificates (not_after);

-- Results of operations other than issuance (revoke, suspend, resume),
-- so a retried call with the same key does not act twice.
CREATE TABLE idempotency_keys (
    key          TEXT    PRIMARY KEY,
    operation    TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
);

-- Monotonic CRL numbers (RFC 5280 §5.2.3) per issuer and CRL shard.
CREATE TABLE crl_numbers (
    issuer_id   INTEGER NOT NULL REFERENCES issuers(id),
    shard       INTEGER NOT NULL,
    last_number INTEGER NOT NULL,
    PRIMARY KEY (issuer_id, shard)
);
