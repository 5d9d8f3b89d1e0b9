-- Batches filed through the REST API (POST /api/v1/batches). An API
-- client's registration for its profiles is the approval, as for its
-- single enrolments, so such a batch has no filing officer: filed_by may
-- be NULL, api_client_id names the client (exactly one of the two is
-- set), and approvals_required is 0 for it (at least 1 for officers'
-- batches, as before).
--
-- job_owner and job_lease_until: the RA instance running the batch's
-- background job and until when (Unix seconds) its claim holds; another
-- instance takes the batch over only once the lease has run out.
ALTER TABLE batches ALTER COLUMN filed_by DROP NOT NULL;
ALTER TABLE batches ADD COLUMN job_owner TEXT;
ALTER TABLE batches ADD COLUMN job_lease_until BIGINT;
ALTER TABLE batches ADD COLUMN api_client_id BIGINT REFERENCES api_clients(id);
ALTER TABLE batches DROP CONSTRAINT batches_approvals_required_check;
ALTER TABLE batches ADD CONSTRAINT batches_approvals_required_check
    CHECK (approvals_required >= 0);
ALTER TABLE batches ADD CONSTRAINT batches_filer_check
    CHECK ((filed_by IS NULL) <> (api_client_id IS NULL));
ALTER TABLE batches ADD CONSTRAINT batches_approval_check
    CHECK (approvals_required >= 1 OR api_client_id IS NOT NULL);
