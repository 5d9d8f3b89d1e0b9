-- REST API bookkeeping.
--
-- Nonces seen per client: a signed-off call (timestamp + nonce) is accepted
-- once; rows older than the accepted clock skew are purged, since a call
-- that old is refused by its timestamp anyway.
CREATE TABLE api_nonces (
    client_id BIGINT  NOT NULL REFERENCES api_clients(id),
    nonce     TEXT    NOT NULL,
    seen_at   BIGINT  NOT NULL,
    PRIMARY KEY (client_id, nonce)
);
CREATE INDEX api_nonces_seen ON api_nonces (seen_at);

-- Idempotency keys per client: the same key with the same request answers
-- the stored response; with another request it is refused.
CREATE TABLE api_idempotency (
    client_id      BIGINT  NOT NULL REFERENCES api_clients(id),
    idem_key       TEXT    NOT NULL,
    request_digest BYTEA NOT NULL,
    status         BIGINT  NOT NULL,
    response       TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    PRIMARY KEY (client_id, idem_key)
);
