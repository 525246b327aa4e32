//! `probedex diff A B [PATTERN...]`.

use super::{Context, Io, Outcome, RunError};
use crate::error::Error;

pub(super) fn run(
    _ctx: &Context,
    _old: &str,
    _new: &str,
    _patterns: &[String],
    _io: &mut Io<'_>,
) -> Result<Outcome, RunError> {
    Err(Error::bad_input("diff: not yet").into())
}
