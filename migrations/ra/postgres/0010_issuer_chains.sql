-- Issuer chains stored once, not once per certificate. A batch job
-- records thousands of certificates under the same chain (about 1 KB of
-- PEM per intermediate each time); its rows point at one `issuer_chains`
-- row instead
-- (`chain_id`, with `chain_pem` left NULL). Reads return
-- COALESCE(chain_pem, the pointed chain), so a request's chain download
-- is the same bytes either way. Rows are found by the SHA-256 of the PEM
-- (lowercase hex): an index on the PEM itself would be large, and too
-- wide for a PostgreSQL B-tree entry with a long chain.
CREATE TABLE issuer_chains (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256     TEXT   NOT NULL UNIQUE,
    chain_pem  TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
ALTER TABLE cert_requests ADD COLUMN chain_id BIGINT REFERENCES issuer_chains(id);
