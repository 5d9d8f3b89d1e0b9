use signet_core::{CertificateStatus, Serial};

use super::*;

fn row(seq: i64) -> StatusChangeRecord {
    StatusChangeRecord {
        seq,
        issuer_id: 1,
        serial: Serial::from_magnitude(&seq.to_be_bytes()).unwrap(),
        status: CertificateStatus::Revoked,
    }
}

fn seqs(rows: &[&StatusChangeRecord]) -> Vec<i64> {
    rows.iter().map(|r| r.seq).collect()
}

#[test]
fn rows_in_order_move_the_cursor_along() {
    let now = Instant::now();
    let mut cursor = FeedCursor::new(10);
    let rows = [row(11), row(12), row(13)];
    assert_eq!(seqs(&cursor.absorb(&rows, now)), vec![11, 12, 13]);
    assert_eq!(cursor.advance(now, GAP_PATIENCE), 0);
    assert_eq!(cursor.low(), 13);
    assert!(cursor.gaps().is_empty());
    // Nothing new: nothing moves.
    assert!(cursor.absorb(&[], now).is_empty());
    cursor.advance(now, GAP_PATIENCE);
    assert_eq!(cursor.low(), 13);
}

#[test]
fn a_row_committed_late_is_not_missed() {
    // PostgreSQL: the transaction holding seq 12 commits after the one
    // holding 13.
    let now = Instant::now();
    let mut cursor = FeedCursor::new(10);
    assert_eq!(seqs(&cursor.absorb(&[row(11), row(13)], now)), vec![11, 13]);
    cursor.advance(now, GAP_PATIENCE);
    assert_eq!(cursor.gaps(), vec![12]);
    // The next read starts below the hole and sees 13 again, which is
    // not handled twice, and 12, which is.
    assert_eq!(cursor.low(), 11);
    let later = now + Duration::from_millis(200);
    let rows = [row(12), row(13), row(14)];
    let fresh = cursor.absorb(&rows, later);
    assert_eq!(seqs(&fresh), vec![12, 14]);
    cursor.advance(later, GAP_PATIENCE);
    assert!(cursor.gaps().is_empty());
    assert_eq!(cursor.low(), 14);
}

#[test]
fn a_hole_that_never_fills_is_given_up_after_a_while() {
    let now = Instant::now();
    let mut cursor = FeedCursor::new(0);
    cursor.absorb(&[row(1), row(3), row(6)], now);
    assert_eq!(cursor.advance(now, GAP_PATIENCE), 0);
    assert_eq!(cursor.gaps(), vec![2, 4, 5]);
    assert_eq!(cursor.low(), 1);
    // Row 4 arrives; 2 and 5 are rolled back.
    let soon = now + Duration::from_secs(1);
    let rows = [row(3), row(4), row(6)];
    assert_eq!(seqs(&cursor.absorb(&rows, soon)), vec![4]);
    assert_eq!(cursor.advance(soon, GAP_PATIENCE), 0);
    assert_eq!(cursor.gaps(), vec![2, 5]);
    let late = now + GAP_PATIENCE;
    assert_eq!(cursor.advance(late, GAP_PATIENCE), 2);
    assert!(cursor.gaps().is_empty());
    assert_eq!(cursor.low(), 6);
}

#[test]
fn a_huge_jump_is_not_waited_for() {
    let now = Instant::now();
    let mut cursor = FeedCursor::new(5);
    cursor.absorb(&[row(1_000_000)], now);
    cursor.advance(now, GAP_PATIENCE);
    assert!(cursor.gaps().is_empty());
    assert_eq!(cursor.low(), 1_000_000);
}

#[test]
fn feed_health_goes_stale_without_successful_polls() {
    let health = FeedHealth::new(Duration::from_millis(1));
    health.mark_ok();
    assert!(health.is_fresh());
    // The floor is two seconds, whatever the poll interval.
    assert_eq!(health.stale_after, Duration::from_secs(2));
    let slow = FeedHealth::new(Duration::from_secs(1));
    assert_eq!(slow.stale_after, Duration::from_secs(10));
}
