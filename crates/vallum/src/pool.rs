//! Thread pools that survive `fork` (see [`vallum_pool`]): batch scans run on [`BATCH`]
//! and not on rayon's global pool, whose threads a forked child does not have.

pub use vallum_pool::ProcessPool;

/// The pool batch scans run on ([`Guard::scan_batch`](crate::Guard::scan_batch)), one
/// thread per core.
pub static BATCH: ProcessPool = ProcessPool::new("vallum-batch");
