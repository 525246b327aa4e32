//! `attach --json` lines as docs/json.md documents them, every field
//! spelled out (deny_unknown_fields), shared by the attach tests so the
//! schema is checked in one place.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Line {
    Point {
        probe: String,
        attached: bool,
        link: Option<String>,
        /// Null exactly when the point did not attach (see [`hits`]).
        hits: Option<u64>,
        verdict: String,
        reason: Option<String>,
        /// Only with `--sample`: None means the key was absent.
        #[serde(default)]
        samples: Option<Vec<Record>>,
    },
    Summary {
        points: usize,
        attached: usize,
        fired: usize,
        filter: String,
        command_exit: Option<i32>,
        command_signal: Option<String>,
        ended_by: String,
        seconds: f64,
    },
}

/// One decoded record of `--sample`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub fields: BTreeMap<String, Value>,
}

/// A point's hits, 0 for one that did not attach, after checking that
/// `hits` is null exactly then (docs/json.md).
#[allow(dead_code)]
pub fn hits(attached: bool, hits: Option<u64>) -> u64 {
    assert_eq!(
        hits.is_some(),
        attached,
        "hits must be null exactly when the point did not attach"
    );
    hits.unwrap_or(0)
}
