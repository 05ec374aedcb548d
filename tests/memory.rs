//! What a gradient keeps in memory, measured with a counting allocator: the
//! tape of a sum over data points must not grow with the number of points.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

#[path = "../benches/gmm/mod.rs"]
mod gmm;

/// The system allocator, counting the live bytes this thread allocates
/// while it measures (the test harness's own threads allocate too), and
/// their high-water mark.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
}

fn count(delta: isize) {
    if MEASURING.with(Cell::get) {
        let live = LIVE.fetch_add(delta, Ordering::SeqCst) + delta;
        PEAK.fetch_max(live, Ordering::SeqCst);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most memory `f` holds at once, counting what this thread allocates
/// and frees while it runs.
fn peak_during(f: impl FnOnce()) -> usize {
    LIVE.store(0, Ordering::SeqCst);
    PEAK.store(0, Ordering::SeqCst);
    MEASURING.with(|m| m.set(true));
    f();
    MEASURING.with(|m| m.set(false));
    PEAK.load(Ordering::SeqCst) as usize
}

/// The GMM gradient's working memory: the gradient it returns (the size of
/// the parameters), its buffers, and one data point's tape, whatever n is.
#[test]
fn gmm_gradient_memory_does_not_grow_with_the_data() {
    let (d, k) = (10, 25);
    let mut peaks = Vec::new();
    for n in [100, 1000, 4000] {
        let (alphas, means, icf, data) = gmm::gmm_instance(d, k, n, 7);
        let peak = peak_during(|| {
            let g = gmm::gmm_objective_grad(&alphas, &means, &icf, &data.x, 0.7, 2.0);
            std::hint::black_box(g);
        });
        peaks.push(peak);
    }
    println!("GMM d = {d}, K = {k}: peak bytes for n = 100, 1000, 4000: {peaks:?}");
    let params = (k + k * d + k * d * (d + 1) / 2) * 8;
    // Per call: the returned gradient and the buffers of the two loops over
    // it (each the size of the parameters, plus `Vec` rows), the local arrays
    // and one data point's tape: a few times the parameters, independent of n.
    assert_eq!(peaks[0], peaks[1], "peaks {peaks:?}");
    assert_eq!(peaks[1], peaks[2], "peaks {peaks:?}");
    assert!(
        peaks[2] < 8 * params,
        "peak {} vs parameters {params}",
        peaks[2]
    );
}
