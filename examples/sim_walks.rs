//! Random walks of the world simulator, written as hook logs: every Grafana unit's log of
//! each walk, one file per unit. The differential campaign against the reference library
//! (`scripts/reference/differential.sh`) replays them; they are also plain hook logs for
//! `check` and `replay`.
//!
//! ```text
//! cargo run --release --example sim_walks -- OUT_DIR [WALKS] [ACTIONS] [FIRST_SEED] [P,U,G]
//! ```
//!
//! Each walk starts from a world of `P` provider applications of at most `U` units and at
//! most `G` Grafana units (default `2,2,2`) under `libpatch21`, and takes `ACTIONS`
//! (default 40) actions of the full alphabet,
//! each chosen uniformly among those enabled, from its own seed (walk `i` has seed
//! `FIRST_SEED + i`): relations, scaling, hosts, corrupt and colliding application data,
//! Grafana units coming and going, leadership moves and upgrades with legacy state. The
//! same arguments always write the same files.
use grafana_source::sim::{self, Alphabet, Bounds, World};
use grafana_source::Profile;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// SplitMix64: a fixed stream for a seed, whatever the dependencies' versions.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> Result<T, String> {
    match args.get(i) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| format!("argument {i}: `{s}` is not a number")),
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let out = args
        .get(1)
        .ok_or("usage: sim_walks OUT_DIR [WALKS] [ACTIONS] [FIRST_SEED] [P,U,G]")?;
    let walks: u64 = arg(args, 2, 20)?;
    let actions: usize = arg(args, 3, 40)?;
    let first_seed: u64 = arg(args, 4, 1)?;
    let world = args.get(5).map_or("2,2,2", String::as_str);
    let sizes: Vec<usize> = world
        .split(',')
        .map(|n| n.parse().map_err(|_| format!("world `{world}`: not P,U,G")))
        .collect::<Result<_, _>>()?;
    let [p, u, g] = sizes[..] else {
        return Err(format!("world `{world}`: not P,U,G"));
    };
    let bounds = Bounds::new(p, u, g)?;
    let alphabet = Alphabet::full();
    std::fs::create_dir_all(out).map_err(|e| format!("cannot make {out}: {e}"))?;
    for seed in first_seed..first_seed + walks {
        let mut rng = SplitMix(seed);
        let (mut world, first) = World::new(Profile::Libpatch21, bounds);
        let mut logs: BTreeMap<sim::GrafanaUnitIndex, Vec<_>> = BTreeMap::new();
        let mut deliveries = first;
        for _ in 0..actions {
            let enabled = world.actions_in(&alphabet);
            if enabled.is_empty() {
                break;
            }
            let action = enabled[rng.below(enabled.len())];
            let (next, seen) = world.apply(&action);
            world = next;
            deliveries.extend(seen);
        }
        for d in deliveries {
            logs.entry(d.unit).or_default().push(d.entry);
        }
        for (unit, mut log) in logs {
            for (i, e) in log.iter_mut().enumerate() {
                e.line = i as u64 + 1;
            }
            let path = format!("{out}/walk-{p}x{u}x{g}-s{seed}-grafana-{unit}.jsonl");
            std::fs::write(&path, sim::to_jsonl(&log))
                .map_err(|e| format!("cannot write {path}: {e}"))?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sim_walks: {e}");
            ExitCode::from(2)
        }
    }
}
