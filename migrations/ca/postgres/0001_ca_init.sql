-- CA database: issuers, certificates, idempotency keys, CRL numbers.
-- Times are seconds since the Unix epoch (UTC). Serials are lowercase hex
-- of the positive integer, without leading zeros.

CREATE TABLE issuers (
    id          BIGINT PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    key_label   TEXT    NOT NULL,
    certificate BYTEA    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- One row per serial ever reserved. A row is written 'pending' with the
-- exact TBS before the token signs, and completed with the certificate
-- after; serials are never reused (primary key per issuer, serial first so
-- that a serial alone finds its row).
CREATE TABLE certificates (
    issuer_id         BIGINT  NOT NULL REFERENCES issuers(id),
    serial            TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'good', 'suspended', 'revoked')),
    request_id        TEXT    NOT NULL UNIQUE,
    request_hash      BYTEA    NOT NULL,
    profile           TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    sans              TEXT    NOT NULL,
    not_before        BIGINT  NOT NULL,
    not_after         BIGINT  NOT NULL,
    crl_shard         BIGINT  NOT NULL DEFAULT 0,
    tbs               BYTEA    NOT NULL,
    der               BYTEA,
    revoked_at        BIGINT,
    revocation_reason BIGINT,
    invalidity_date   BIGINT,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    PRIMARY KEY (serial, issuer_id)
);
-- Partial indexes stay small and are not touched when a certificate goes
-- from pending to good: pending rows (reconciled at start-up), revoked and
-- suspended ones (CRLs, OCSP), and expiry (renewal reminders).
CREATE INDEX certificates_pending ON certificates (created_at) WHERE status = 'pending';
CREATE INDEX certificates_revoked ON certificates (issuer_id, crl_shard, revoked_at)
    WHERE status IN ('revoked', 'suspended');
CREATE INDEX certificates_by_expiry ON certificates (not_after);

-- Results of operations other than issuance (revoke, suspend, resume),
-- so a retried call with the same key does not act twice.
CREATE TABLE idempotency_keys (
    key          TEXT    PRIMARY KEY,
    operation    TEXT    NOT NULL,
    request_hash BYTEA    NOT NULL,
    created_at   BIGINT  NOT NULL
);

-- Monotonic CRL numbers (RFC 5280 §5.2.3) per issuer and CRL shard.
CREATE TABLE crl_numbers (
    issuer_id   BIGINT  NOT NULL REFERENCES issuers(id),
    shard       BIGINT  NOT NULL,
    last_number BIGINT  NOT NULL,
    PRIMARY KEY (issuer_id, shard)
);

-- Every revocation, suspension and resumption, in order: OCSP responders
-- follow it to drop stale cached answers, delta CRLs list what changed
-- since their base.
CREATE TABLE status_changes (
    seq        BIGSERIAL PRIMARY KEY,
    issuer_id  BIGINT NOT NULL,
    serial     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    changed_at BIGINT NOT NULL
);

-- Published CRLs: full and delta, per issuer and shard. `changes_seq` is
-- the last status change a CRL includes.
CREATE TABLE crls (
    issuer_id   BIGINT NOT NULL REFERENCES issuers(id),
    shard       BIGINT NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('full', 'delta')),
    number      BIGINT NOT NULL,
    base_number BIGINT,
    this_update BIGINT NOT NULL,
    next_update BIGINT NOT NULL,
    changes_seq BIGINT NOT NULL,
    entries     BIGINT NOT NULL,
    der         BYTEA    NOT NULL,
    PRIMARY KEY (issuer_id, shard, kind, number)
);

-- Delegated OCSP signing certificates (RFC 6960 §4.2.2.2), their keys in
-- the token. The CA issues a new one before the current one expires.
CREATE TABLE ocsp_signers (
    id          BIGSERIAL PRIMARY KEY,
    issuer_id   BIGINT NOT NULL REFERENCES issuers(id),
    key_label   TEXT    NOT NULL UNIQUE,
    certificate BYTEA    NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
