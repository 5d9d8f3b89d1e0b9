-- Reports and expiry reminders.
--
-- When each certificate was issued, for the reports by month. The RA's
-- clock at the moment the CA's answer was recorded: a trigger copies
-- `updated_at` when `serial` is first set, whichever code path records
-- the certificate. Certificates recorded before this migration get their
-- last `updated_at` (for a certificate revoked or suspended since, the
-- time of that change).
ALTER TABLE cert_requests ADD COLUMN issued_at BIGINT;
UPDATE cert_requests SET issued_at = updated_at WHERE serial IS NOT NULL;
CREATE FUNCTION cert_requests_set_issued_at() RETURNS trigger AS $$
BEGIN
    IF NEW.serial IS NOT NULL AND NEW.issued_at IS NULL
       AND (TG_OP = 'INSERT' OR OLD.serial IS NULL) THEN
        NEW.issued_at := NEW.updated_at;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER cert_requests_issued_at BEFORE INSERT OR UPDATE OF serial ON cert_requests
FOR EACH ROW EXECUTE FUNCTION cert_requests_set_issued_at();
CREATE INDEX cert_requests_issued ON cert_requests (issued_at) WHERE serial IS NOT NULL;
CREATE INDEX cert_requests_expiry ON cert_requests (not_after) WHERE status = 'issued';

-- The reminder sweep skips certificates superseded by an issued renewal.
CREATE INDEX cert_requests_renewal_of ON cert_requests (renewal_of) WHERE renewal_of IS NOT NULL;

-- One row per (certificate, threshold, channel) the reminder sweep has
-- taken on. The sweep claims a row ('sending', committed) before it
-- sends and marks it after: 'sent'; 'unknown' when the message was
-- handed over but not confirmed (an SMTP error after the final ".", a
-- webhook that did not answer a request it received), never sent again;
-- or 'failed' (nothing was delivered), claimed again once
-- next_attempt_at has passed, while attempts are below the configured
-- maximum. A reminder is sent at most once, even across a crash (a row
-- left 'sending' by a crash is not sent again).
--
-- channel: 'email' (the configured recipients), 'subscriber_email' (the
-- certificate's own addresses, a message of its own), 'webhook'.
CREATE TABLE expiry_reminders (
    request_id     BIGINT  NOT NULL REFERENCES cert_requests(id),
    threshold_days BIGINT  NOT NULL CHECK (threshold_days >= 1),
    channel        TEXT    NOT NULL CHECK (channel IN ('email', 'subscriber_email', 'webhook')),
    state          TEXT    NOT NULL CHECK (state IN ('sending', 'sent', 'unknown', 'failed')),
    attempts       BIGINT  NOT NULL CHECK (attempts >= 1),
    last_error     TEXT,
    next_attempt_at BIGINT NOT NULL,
    updated_at     BIGINT  NOT NULL,
    PRIMARY KEY (request_id, threshold_days, channel)
);
