//! The allocator `grafana-source` runs with, and its options. A module of the binary, not
//! of the library (an embedder chooses its own allocator); `benches/replay.rs` includes
//! this very file, so that the benchmarks time what the command runs.

/// mimalloc: the fold allocates many small short-lived values (see Cargo.toml).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of mimalloc v2's `mimalloc.h` (milliseconds a free page waits
/// before it is returned to the OS; -1: never). The bindings name no constant for it; the
/// test below checks that this index holds that option's default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keep freed pages instead of returning them to the OS after 10 ms: a command runs once
/// and exits, and its peak is held either way (a replay of a live stream runs as long as
/// the stream, and holds what its peak was: a replay's memory is bounded by the world, not
/// by the log; BENCHMARKS.md). A replay of a big world frees the nodes
/// each step replaced; pages emptied that way were handed back and faulted in again
/// (a step at 10,000 relations: 5-9% faster kept, in every set of paired rounds). The
/// explorer's figures are mixed (faster at depth 8, slower in one set at depth 7;
/// docs/performance.md). `MIMALLOC_PURGE_DELAY` (or its old name `MIMALLOC_RESET_DELAY`)
/// in the environment still decides when set.
pub fn keep_freed_pages() {
    if !purge_delay_set_by_user() {
        // SAFETY: sets one integer option, which mimalloc reads at every purge decision;
        // no memory is touched.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

/// Whether the environment sets mimalloc's purge delay, under its name or its old one.
fn purge_delay_set_by_user() -> bool {
    ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_index_is_that_option_and_is_turned_off() {
        if super::purge_delay_set_by_user() {
            return; // the user's setting, whatever it is, stands
        }
        let index = super::MI_OPTION_PURGE_DELAY;
        let get = || unsafe { libmimalloc_sys::mi_option_get(index) };
        // mimalloc v2's default purge delay (its neighbours default to 1 and 0).
        assert_eq!(get(), 10, "index {index} is not the purge delay");
        super::keep_freed_pages();
        assert_eq!(get(), -1);
    }
}
