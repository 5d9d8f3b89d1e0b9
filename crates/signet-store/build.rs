//! `sqlx::migrate!` embeds the migration files at compile time; a new file
//! in `migrations/` must rebuild this crate, which Cargo only knows if told.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
