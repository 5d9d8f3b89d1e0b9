-- Batch files signed by the filing officer: a detached CMS signature
-- (RFC 5652 SignedData) over the exact bytes of the uploaded file, made
-- with a certificate registered on the officer's account. One row per
-- signed batch; unsigned batches have none. A table of its own rather
-- than columns of `batches`, so that rebuilding that table (SQLite) never
-- has to carry these along.
--
-- signer_sha256: SHA-256 (hex) of the signer's certificate (DER), the
-- fingerprint officers are registered by; signer_subject: its subject,
-- RFC 4514; file_sha256: SHA-256 (hex) of the signed file. A signed file
-- is filed once: the pair (signer, file) is unique, so a replayed upload
-- of the same signed file is refused.
CREATE TABLE batch_signatures (
    batch_id       BIGINT PRIMARY KEY REFERENCES batches(id),
    signer_sha256  TEXT    NOT NULL CHECK (length(signer_sha256) = 64),
    signer_subject TEXT    NOT NULL,
    file_sha256    TEXT    NOT NULL CHECK (length(file_sha256) = 64),
    created_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX batch_signatures_signer_file
    ON batch_signatures (signer_sha256, file_sha256);
