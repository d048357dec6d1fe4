//! Thread pools that survive `fork`, for Vallum's batch scans and its classifier.
//!
//! A forked child process has only the thread that called `fork`, and a copy of the
//! parent's memory. A rayon pool that the parent started is still there in that copy, but
//! its workers are not, so the child's first parallel call waits for them forever. Python
//! code hits this easily: `multiprocessing` forks by default on Linux, and so do
//! pre-forking servers. Batch scans and the classifier therefore run on a [`ProcessPool`]
//! and not on rayon's global pool (or a pool built once). A `ProcessPool` remembers the
//! process that built it and builds a fresh pool the first time it is used in a different
//! process.
#![deny(missing_docs)]

use std::sync::{Arc, Mutex, PoisonError};

use rayon::ThreadPool;

/// A rayon thread pool per process, built on first use and again after a `fork`.
pub struct ProcessPool {
    name: &'static str,
    /// `None`: one thread per core.
    threads: Option<usize>,
    slot: Mutex<Option<(u32, Arc<ThreadPool>)>>,
}

impl std::fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessPool")
            .field("name", &self.name)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl ProcessPool {
    /// A pool of one thread per core, named `NAME-0`, `NAME-1`, ...; nothing starts until
    /// [`ProcessPool::get`].
    pub const fn new(name: &'static str) -> Self {
        ProcessPool {
            name,
            threads: None,
            slot: Mutex::new(None),
        }
    }

    /// A pool of `threads` threads (at least one).
    pub const fn with_threads(name: &'static str, threads: usize) -> Self {
        ProcessPool {
            name,
            threads: Some(if threads == 0 { 1 } else { threads }),
            slot: Mutex::new(None),
        }
    }

    /// This process's pool. Fails only when no thread can be started.
    pub fn get(&self) -> Result<Arc<ThreadPool>, rayon::ThreadPoolBuildError> {
        let pid = std::process::id();
        // The lock is held only to compare and clone, never while a pool is built, so a
        // fork that happens while another thread holds it is as unlikely as it can be.
        if let Some((owner, pool)) = &*self.lock()
            && *owner == pid
        {
            return Ok(Arc::clone(pool));
        }
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        let name = self.name;
        let fresh = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(move |i| format!("{name}-{i}"))
                .build()?,
        );
        let mut slot = self.lock();
        match &*slot {
            // Another thread of this process was faster: use its pool (ours is dropped).
            Some((owner, pool)) if *owner == pid => Ok(Arc::clone(pool)),
            _ => {
                if let Some(stale) = slot.replace((pid, Arc::clone(&fresh))) {
                    // The parent's pool: its threads do not exist here, and dropping it
                    // would signal them. It stays allocated, once per fork.
                    std::mem::forget(stale);
                }
                Ok(fresh)
            }
        }
    }

    /// Runs `f` inside this process's pool (rayon's parallel iterators in `f` use it).
    /// When no thread can be started, `f` runs on a pool of the current thread alone.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match self.get() {
            Ok(pool) => pool.install(f),
            Err(_) => match rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .use_current_thread()
                .build()
            {
                Ok(pool) => pool.install(f),
                // Not even the current thread can host a pool: run on it directly.
                Err(_) => f(),
            },
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u32, Arc<ThreadPool>)>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pool_per_process_shared_by_callers() {
        static POOL: ProcessPool = ProcessPool::new("vallum-test");
        let a = POOL.get().unwrap();
        let b = POOL.get().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let name = POOL.install(|| std::thread::current().name().map(str::to_owned));
        assert!(name.unwrap().starts_with("vallum-test-"));
    }

    #[test]
    fn a_pool_from_another_process_is_replaced() {
        static POOL: ProcessPool = ProcessPool::new("vallum-test-fork");
        let first = POOL.get().unwrap();
        // What a forked child sees: the slot names a process that is not this one.
        *POOL.lock() = Some((std::process::id().wrapping_add(1), Arc::clone(&first)));
        let second = POOL.get().unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(
            POOL.install(rayon::current_num_threads),
            second.current_num_threads()
        );
        assert!(Arc::ptr_eq(&second, &POOL.get().unwrap()));
    }

    #[test]
    fn a_thread_count_is_honoured() {
        static POOL: ProcessPool = ProcessPool::with_threads("vallum-test-two", 2);
        assert_eq!(POOL.install(rayon::current_num_threads), 2);
        let one = ProcessPool::with_threads("vallum-test-one", 0);
        assert_eq!(one.install(rayon::current_num_threads), 1);
    }
}
