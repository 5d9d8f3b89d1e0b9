//! The audit trail's hash chain and signed checkpoints: `verify` finds an
//! edited, a deleted and a reordered event, each on its own copy of a
//! real RA database.

use std::path::{Path, PathBuf};

use signet_ra::audit::{ProblemKind, verify_config};
use sqlx::Connection as _;
use sqlx::sqlite::SqliteConnection;

use crate::kit::Ra;

async fn copy_and_tamper(ra: &Ra, name: &str, sql: &[&str]) -> signet_ra::RaConfig {
    let copy = ra.dir.path().join(format!("{name}.db"));
    std::fs::copy(ra.db_path(), &copy).unwrap();
    for suffix in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", ra.db_path().display()));
        if from.exists() {
            std::fs::copy(&from, format!("{}{suffix}", copy.display())).unwrap();
        }
    }
    let url = format!("sqlite:{}", copy.display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    // Someone with write access to the file can drop the triggers.
    for statement in [
        "DROP TRIGGER audit_events_no_update",
        "DROP TRIGGER audit_events_no_delete",
    ]
    .iter()
    .chain(sql)
    {
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
    let mut config = ra.config.clone();
    config.database.url = url;
    config
}

fn exists(p: &Path) -> bool {
    p.exists()
}

#[tokio::test]
async fn verify_finds_edits_deletions_and_reordering() {
    let ra = Ra::start().await;
    let mut admin = ra.admin().await;
    let root = ra.root_unit().await;
    for name in ["A", "B", "C"] {
        ra.create_unit(&mut admin.browser, root, name).await;
    }
    let config = ra.config.clone();
    let db = ra.db_path();
    // Stop the RA (final checkpoint) so the file is complete.
    let ra = {
        let mut ra = ra;
        ra.running.take().unwrap().stop().await;
        ra
    };
    assert!(exists(&db));

    let intact = verify_config(&config).await.unwrap();
    assert!(intact.is_intact(), "{intact}");
    assert!(intact.events > 10 && intact.checkpoints >= 2, "{intact}");
    assert_eq!(intact.last_checkpoint, Some(intact.last_seq), "{intact}");

    let edited = copy_and_tamper(
        &ra,
        "edited",
        &["UPDATE audit_events SET actor = 'mallory' WHERE seq = 5"],
    )
    .await;
    let report = verify_config(&edited).await.unwrap();
    let problem = report.problem.clone().unwrap();
    assert_eq!(
        (problem.seq, problem.kind),
        (5, ProblemKind::Edited),
        "{report}"
    );

    let deleted =
        copy_and_tamper(&ra, "deleted", &["DELETE FROM audit_events WHERE seq = 7"]).await;
    let report = verify_config(&deleted).await.unwrap();
    let problem = report.problem.clone().unwrap();
    assert_eq!(
        (problem.seq, problem.kind),
        (7, ProblemKind::Missing),
        "{report}"
    );

    // Swap events 8 and 9 (rows keep their hashes, seqs are exchanged).
    let reordered = copy_and_tamper(
        &ra,
        "reordered",
        &[
            "UPDATE audit_events SET seq = -9 WHERE seq = 9",
            "UPDATE audit_events SET seq = 9 WHERE seq = 8",
            "UPDATE audit_events SET seq = 8 WHERE seq = -9",
        ],
    )
    .await;
    let report = verify_config(&reordered).await.unwrap();
    let problem = report.problem.clone().unwrap();
    assert_eq!(problem.seq, 8, "{report}");
    assert!(
        matches!(problem.kind, ProblemKind::Unlinked | ProblemKind::Edited),
        "{report}"
    );

    // The tail deleted behind the last signed checkpoint.
    let cut = format!(
        "DELETE FROM audit_events WHERE seq > {}",
        intact.last_seq - 2
    );
    let truncated = copy_and_tamper(&ra, "truncated", &[cut.as_str()]).await;
    let report = verify_config(&truncated).await.unwrap();
    assert!(
        matches!(
            report.problem.as_ref().unwrap().kind,
            ProblemKind::Truncated { .. }
        ),
        "{report}"
    );

    // The original still verifies.
    assert!(verify_config(&config).await.unwrap().is_intact());
    ra.stop().await;
}
