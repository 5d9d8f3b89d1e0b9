-- Subject alternative names of issued certificates, and the subscriber
-- record a request was filed for.
--
-- `sans`: the issued certificate's SANs as OpenSSL prints them, joined by
-- ", " (`DNS:a.example, IP:10.0.0.1, email:a@b`), for the console's and
-- the API's "SAN contains" search (case-insensitive substring). Written
-- when the certificate is recorded; '' when it has none; NULL when not
-- read yet: rows issued before this migration, which the RA reads from
-- their stored PEM at start (SQL cannot parse a certificate).
ALTER TABLE cert_requests ADD COLUMN sans TEXT;
-- The rows still to read, found without a scan (empty once done).
CREATE INDEX cert_requests_sans_unread ON cert_requests (id)
    WHERE sans IS NULL AND certificate_pem IS NOT NULL;

-- The subscriber (person, server, device) a request was filed for:
-- optional, chosen by the filing officer among the subscribers in scope,
-- or taken from the enrolment code the request was filed with.
ALTER TABLE cert_requests ADD COLUMN subscriber_id BIGINT REFERENCES subscribers(id);
CREATE INDEX cert_requests_subscriber ON cert_requests (subscriber_id, filed_at)
    WHERE subscriber_id IS NOT NULL;
