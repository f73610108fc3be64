//! `grafana-source`: the Juju `grafana-source` relation as an event-sourced state engine.
//!
//! A hook log ([`log`]) is folded entry by entry: [`world`] applies what Juju does before a
//! handler runs, a profile's reducer ([`reducer`]) runs the consumer's handler, [`render`]
//! turns the resulting state into Grafana's provisioning config, and [`invariants`] checks
//! every named invariant on the step. [`replay`] drives that loop and [`report`] shapes
//! its output. [`py`] models the Python values and operations the reference depends on.
pub mod databag;
pub mod explore;
#[cfg(feature = "arbitrary")]
pub mod fuzzing;
pub mod gen;
pub mod import;
pub mod invariants;
pub mod log;
pub mod metadata;
pub mod names;
pub mod peer;
pub mod provider;
pub mod py;
pub mod reducer;
pub mod render;
pub mod replay;
pub mod report;
pub mod sim;
pub mod summary;
pub mod world;

pub use reducer::Profile;
