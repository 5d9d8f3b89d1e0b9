use std::time::Duration;

use super::{LiveBatchJobs, TEMPORARY_ROW_ERRORS, retry_pause};

#[test]
fn pauses_double_from_five_seconds_up_to_five_minutes() {
    let pauses: Vec<u64> = (1..=9).map(|a| retry_pause(a).as_secs()).collect();
    assert_eq!(pauses, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
    assert_eq!(retry_pause(u32::MAX), Duration::from_secs(300));
}

#[test]
fn only_the_cas_not_now_codes_keep_a_row_approved() {
    // signet-ca's http/errors.rs: 5xx and 409 in_progress say "not now".
    for code in [
        "in_progress",
        "signing_unavailable",
        "token_unavailable",
        "database_unavailable",
        "kmc_unavailable",
        "internal",
    ] {
        assert!(TEMPORARY_ROW_ERRORS.contains(&code), "{code}");
    }
    // Refusals of the row itself are final.
    for code in [
        "bad_request",
        "bad_csr",
        "lint_failed",
        "profile_violation",
        "unknown_profile",
        "request_id_reused",
        "dual_not_available",
        "kmc_refused",
    ] {
        assert!(!TEMPORARY_ROW_ERRORS.contains(&code), "{code}");
    }
}

#[test]
fn one_job_per_batch_until_its_claim_ends() {
    let jobs = LiveBatchJobs::default();
    let first = jobs.claim(7).unwrap();
    assert!(jobs.claim(7).is_none(), "a second job on batch 7");
    let other = jobs.claim(8).unwrap();
    drop(first);
    assert!(jobs.claim(7).is_some(), "batch 7's job ended");
    drop(other);
}
