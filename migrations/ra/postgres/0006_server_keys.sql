-- Keys the RA generated for requests filed without a CSR (server-side key
-- generation), kept only until they are handed over in a PKCS#12.
--
-- private_key: the PKCS#8 key, AES-256-GCM under the token's `ra-fields`
-- key, bound to `signet-ra:server_keys:private_key:<request uid>`; kept
-- until delivery, so a PKCS#12 whose one-time password was lost can be
-- made again before the download. pkcs12: the latest PKCS#12 file (itself
-- encrypted under a one-time password the RA never stores), again under
-- `ra-fields`, bound to `signet-ra:server_keys:pkcs12:<request uid>`;
-- packaged_by: the officer who made it, the only one who may download it
-- or make it again. Delivery (or a rejected, failed or revoked request)
-- erases both: the row then only records what happened. A PKCS#12 never
-- outlives the key it was made from.
CREATE TABLE server_keys (
    request_id   BIGINT  PRIMARY KEY REFERENCES cert_requests(id),
    key_type     TEXT    NOT NULL,
    private_key  BYTEA,
    pkcs12       BYTEA,
    created_at   BIGINT  NOT NULL,
    packaged_at  BIGINT,
    packaged_by  BIGINT REFERENCES officers(id),
    delivered_at BIGINT,
    delivered_by BIGINT REFERENCES officers(id),
    erased_at    BIGINT,
    CHECK (pkcs12 IS NULL OR (private_key IS NOT NULL AND packaged_by IS NOT NULL))
);
