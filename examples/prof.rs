use grafana_source::gen::{generate, GenConfig};
use grafana_source::log::parse_str;
use grafana_source::replay::Replay;
use grafana_source::world::PeerAtStart;
use grafana_source::{reducer, Profile};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rel: usize = args[1].parse().unwrap();
    let mode = &args[2];
    let profile: Profile = args.get(3).map_or("libpatch21", |s| s).parse().unwrap();
    let mut out = Vec::new();
    generate(&GenConfig::new(rel, 5, 20000, 42), &mut out).unwrap();
    let entries = parse_str(std::str::from_utf8(&out).unwrap()).unwrap();
    let setup = rel * 12 + 6 + 8;
    let t = std::time::Instant::now();
    let mut n = 0;
    if mode == "fold" {
        let mut s = grafana_source::world::State::new(PeerAtStart::Visible);
        for (i, e) in entries.iter().enumerate() {
            if i == setup { eprintln!("setup {:?}", t.elapsed()); }
            s = reducer::step(profile, &s, e).after;
            n += 1;
        }
    } else {
        let mut r = Replay::new(profile, PeerAtStart::Visible);
        for (i, e) in entries.iter().enumerate() {
            if i == setup { eprintln!("setup {:?}", t.elapsed()); }
            let rep = r.step(e);
            std::hint::black_box(&rep);
            n += 1;
        }
    }
    eprintln!("{n} steps {:?}", t.elapsed());
}
