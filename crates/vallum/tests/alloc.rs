//! The zero-copy claim: scanning clean ASCII text allocates nothing once the guard is warm.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use vallum::{Guard, Policy};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to the system allocator unchanged; the only addition is a
// thread-local counter, which does not allocate (a const-initialised `Cell`).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

const CLEAN: &str = "The committee met on Tuesday to review the quarterly plan. Members \
discussed the budget, the hiring schedule and the new office layout, and agreed to meet \
again next month. Everyone thanked the organisers for a productive session.";

#[test]
fn clean_ascii_scan_allocates_nothing() {
    // The classifier (a neural network) allocates tensors by nature; the claim is about
    // the rule-based pass that every scan runs.
    let policy = Policy::from_toml("[detectors]\nclassifier = false").unwrap();
    let guard = Guard::from_policy(&policy).unwrap();
    let text = CLEAN.repeat(20);
    // Warm up: per-thread scratch and regex caches are created on first use.
    for _ in 0..3 {
        let r = guard.scan_input(&text).unwrap();
        assert!(
            r.findings.is_empty(),
            "the clean text has findings: {:?}",
            r.findings
        );
    }
    let n = allocations_during(|| {
        let report = guard.scan_input(&text).unwrap();
        assert!(report.findings.is_empty());
    });
    assert_eq!(n, 0, "a clean ASCII scan allocated {n} times");
}

#[test]
fn counter_sees_allocations() {
    // Guards the test above against a counter that cannot count.
    let n = allocations_during(|| {
        let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(64));
        std::hint::black_box(v);
    });
    assert!(n >= 1);
}
