//! The console's files, embedded at build time from the workspace's
//! `web/` directory (see build.rs): templates, static assets, translation
//! tables.

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
