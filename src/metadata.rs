//! Charm metadata (`metadata.yaml` or a unified `charmcraft.yaml`) and the reference's
//! relation check, `_validate_relation_by_interface_and_direction`.
//!
//! The reference runs that check in both constructors: a provider's endpoint must be one the
//! charm `provides`, a consumer's one it `requires`, and either must have the interface
//! `grafana_datasource` (an endpoint that declares no interface passes, as there). The three
//! ways it fails are three typed errors whose messages are the reference's.
//!
//! ```
//! use grafana_source::metadata::{CharmMetadata, RelationError, RelationRole};
//! let meta = CharmMetadata::from_yaml_str(
//!     "name: prometheus\nprovides:\n  grafana-source:\n    interface: grafana_datasource\n",
//!     "metadata.yaml",
//! )
//! .unwrap();
//! assert!(meta.validate_grafana_source("grafana-source", RelationRole::Provides).is_ok());
//! let err = meta.validate_grafana_source("grafana-source", RelationRole::Requires).unwrap_err();
//! assert!(matches!(err, RelationError::RoleMismatch(_)));
//! assert_eq!(
//!     err.to_string(),
//!     "The 'grafana-source' relation has role 'provides' rather than the expected 'requires'"
//! );
//! ```
use indexmap::IndexMap;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The interface both sides of the relation declare (`RELATION_INTERFACE_NAME`).
pub const RELATION_INTERFACE_NAME: &str = "grafana_datasource";
/// The endpoint name the reference uses when none is given (`DEFAULT_RELATION_NAME`).
pub const DEFAULT_RELATION_NAME: &str = "grafana-source";
/// The file names a charm's metadata can live in, in the order ops looks for them.
pub const METADATA_FILES: [&str; 2] = ["metadata.yaml", "charmcraft.yaml"];

/// Which side of a relation an endpoint is (ops' `RelationRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationRole {
    /// Listed under `provides:` (the datasource charm's side).
    Provides,
    /// Listed under `requires:` (Grafana's side).
    Requires,
    /// Listed under `peers:`.
    Peer,
}

impl RelationRole {
    /// The role's name as ops spells it (`RelationRole.provides.value`).
    pub fn name(self) -> &'static str {
        match self {
            RelationRole::Provides => "provides",
            RelationRole::Requires => "requires",
            RelationRole::Peer => "peer",
        }
    }
}

impl fmt::Display for RelationRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One endpoint as the metadata declares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointMeta {
    /// The declared `interface`; `None` when absent, null or empty (all pass the check).
    pub interface: Option<String>,
}

/// The parts of a charm's metadata the relation check and the provider need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CharmMetadata {
    /// Endpoints under `provides:`, in file order.
    pub provides: IndexMap<String, EndpointMeta>,
    /// Endpoints under `requires:`, in file order.
    pub requires: IndexMap<String, EndpointMeta>,
    /// Endpoints under `peers:`, in file order.
    pub peers: IndexMap<String, EndpointMeta>,
    /// Names under `containers:`, in file order (the provider's default refresh event
    /// depends on there being exactly one).
    pub containers: Vec<String>,
}

/// The reference's `RelationNotFoundError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("No relation named '{relation}' found")]
pub struct RelationNotFound {
    /// The endpoint that was looked for.
    pub relation: String,
}

/// The reference's `RelationInterfaceMismatchError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "The '{relation}' relation has '{actual}' as interface rather than the expected '{expected}'"
)]
pub struct RelationInterfaceMismatch {
    /// The endpoint checked.
    pub relation: String,
    /// The interface required (`grafana_datasource`).
    pub expected: String,
    /// The interface the metadata declares.
    pub actual: String,
}

/// The reference's `RelationRoleMismatchError`.
///
/// The reference prints `repr()` of ops' enum (`<RelationRole.requires: 'requires'>`) and
/// always names the opposite of the expected role as the actual one; this names the role the
/// metadata really gives (so a peer endpoint reads `peer`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The '{relation}' relation has role '{actual}' rather than the expected '{expected}'")]
pub struct RelationRoleMismatch {
    /// The endpoint checked.
    pub relation: String,
    /// The role the caller needs (`provides` for a provider, `requires` for a consumer).
    pub expected: RelationRole,
    /// The role the metadata gives the endpoint.
    pub actual: RelationRole,
}

/// Why an endpoint fails the reference's relation check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelationError {
    /// No endpoint of that name.
    #[error(transparent)]
    NotFound(#[from] RelationNotFound),
    /// The endpoint declares another interface.
    #[error(transparent)]
    InterfaceMismatch(#[from] RelationInterfaceMismatch),
    /// The endpoint is on the other side.
    #[error(transparent)]
    RoleMismatch(#[from] RelationRoleMismatch),
}

/// Metadata that cannot be read or is not charm metadata.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The file (or directory) could not be read.
    #[error("cannot read {}: {message}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
    /// A charm directory holds neither `metadata.yaml` nor `charmcraft.yaml`.
    #[error("no metadata.yaml or charmcraft.yaml in {}", dir.display())]
    NoMetadataFile {
        /// The directory searched.
        dir: PathBuf,
    },
    /// The file is not YAML, or not shaped like charm metadata.
    #[error("{}: malformed charm metadata: {message}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// What the YAML parser reports (with position).
        message: String,
    },
}

/// An endpoint entry: a mapping with an optional `interface` (other keys are ignored).
/// `grafana-source:` with nothing after it (null) is accepted as an endpoint without one.
#[derive(Deserialize)]
struct RawEndpoint {
    #[serde(default)]
    interface: Option<String>,
}

/// The top level; every key the check does not use is ignored.
#[derive(Deserialize)]
struct RawMeta {
    #[serde(default)]
    provides: Option<IndexMap<String, Option<RawEndpoint>>>,
    #[serde(default)]
    requires: Option<IndexMap<String, Option<RawEndpoint>>>,
    #[serde(default)]
    peers: Option<IndexMap<String, Option<RawEndpoint>>>,
    #[serde(default)]
    containers: Option<IndexMap<String, serde::de::IgnoredAny>>,
}

fn endpoints(raw: Option<IndexMap<String, Option<RawEndpoint>>>) -> IndexMap<String, EndpointMeta> {
    raw.unwrap_or_default()
        .into_iter()
        .map(|(name, ep)| {
            let interface = ep.and_then(|e| e.interface).filter(|i| !i.is_empty());
            (name, EndpointMeta { interface })
        })
        .collect()
}

impl CharmMetadata {
    /// Parse metadata text; `source` names the file in errors.
    ///
    /// Repeated keys keep the last value, as PyYAML's `safe_load` (which ops uses) does. An
    /// empty document is metadata without endpoints.
    pub fn from_yaml_str(text: &str, source: impl AsRef<Path>) -> Result<Self, MetadataError> {
        let options = serde_saphyr::options! {
            duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        };
        let raw: Option<RawMeta> =
            serde_saphyr::from_str_with_options(text, options).map_err(|e| {
                MetadataError::Yaml {
                    path: source.as_ref().to_path_buf(),
                    message: e.to_string(),
                }
            })?;
        let Some(raw) = raw else {
            return Ok(CharmMetadata::default());
        };
        Ok(CharmMetadata {
            provides: endpoints(raw.provides),
            requires: endpoints(raw.requires),
            peers: endpoints(raw.peers),
            containers: raw.containers.unwrap_or_default().into_keys().collect(),
        })
    }

    /// Read metadata from a file, or from a charm directory (its `metadata.yaml` if present,
    /// else its `charmcraft.yaml`, as ops does). Returns the file actually read too.
    pub fn load(path: impl AsRef<Path>) -> Result<(Self, PathBuf), MetadataError> {
        let path = path.as_ref();
        let io = |p: &Path, e: std::io::Error| MetadataError::Io {
            path: p.to_path_buf(),
            message: e.to_string(),
        };
        let file = if path.is_dir() {
            METADATA_FILES
                .iter()
                .map(|f| path.join(f))
                .find(|p| p.is_file())
                .ok_or_else(|| MetadataError::NoMetadataFile {
                    dir: path.to_path_buf(),
                })?
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|e| io(&file, e))?;
        Ok((Self::from_yaml_str(&text, &file)?, file))
    }

    /// The endpoint `name` and its role as ops' `charm.meta.relations[name]` gives it: when a
    /// name is listed in several sections, `peers` wins over `provides` over `requires`.
    pub fn relation(&self, name: &str) -> Option<(RelationRole, &EndpointMeta)> {
        [
            (RelationRole::Peer, &self.peers),
            (RelationRole::Provides, &self.provides),
            (RelationRole::Requires, &self.requires),
        ]
        .into_iter()
        .find_map(|(role, section)| section.get(name).map(|ep| (role, ep)))
    }

    /// The reference's `_validate_relation_by_interface_and_direction`, in its order:
    /// existence, then interface (skipped when none is declared), then role (membership of
    /// `provides` / `requires`).
    pub fn validate_relation(
        &self,
        name: &str,
        expected_interface: &str,
        expected_role: RelationRole,
    ) -> Result<(), RelationError> {
        let (role, endpoint) = self.relation(name).ok_or_else(|| RelationNotFound {
            relation: name.to_string(),
        })?;
        if let Some(actual) = endpoint
            .interface
            .as_deref()
            .filter(|i| *i != expected_interface)
        {
            return Err(RelationInterfaceMismatch {
                relation: name.to_string(),
                expected: expected_interface.to_string(),
                actual: actual.to_string(),
            }
            .into());
        }
        let in_section = match expected_role {
            RelationRole::Provides => self.provides.contains_key(name),
            RelationRole::Requires => self.requires.contains_key(name),
            RelationRole::Peer => self.peers.contains_key(name),
        };
        if !in_section {
            return Err(RelationRoleMismatch {
                relation: name.to_string(),
                expected: expected_role,
                actual: role,
            }
            .into());
        }
        Ok(())
    }

    /// [`Self::validate_relation`] with the `grafana_datasource` interface.
    pub fn validate_grafana_source(
        &self,
        name: &str,
        expected_role: RelationRole,
    ) -> Result<(), RelationError> {
        self.validate_relation(name, RELATION_INTERFACE_NAME, expected_role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(text: &str) -> CharmMetadata {
        CharmMetadata::from_yaml_str(text, "metadata.yaml").unwrap()
    }

    #[test]
    fn sections_and_containers_are_read_in_order() {
        let m = meta(
            "name: x\nsummary: y\nprovides:\n  grafana-source:\n    interface: grafana_datasource\n  \
             metrics:\n    interface: prometheus_scrape\nrequires:\n  ingress:\n    interface: ingress\n    \
             limit: 1\npeers:\n  replicas:\n    interface: r\ncontainers:\n  b:\n    resource: i\n  a: {}\n",
        );
        assert_eq!(
            m.provides.keys().collect::<Vec<_>>(),
            ["grafana-source", "metrics"]
        );
        assert_eq!(m.containers, ["b", "a"]);
        assert_eq!(m.relation("replicas").unwrap().0, RelationRole::Peer);
    }

    #[test]
    fn missing_or_empty_interface_passes() {
        for text in [
            "provides:\n  grafana-source:\n",
            "provides:\n  grafana-source: {}\n",
            "provides:\n  grafana-source:\n    interface: ''\n",
            "provides:\n  grafana-source:\n    interface: null\n",
        ] {
            let m = meta(text);
            assert_eq!(
                m.validate_grafana_source("grafana-source", RelationRole::Provides),
                Ok(()),
                "{text}"
            );
        }
    }

    #[test]
    fn errors_in_the_reference_order_and_wording() {
        let m = meta("requires:\n  grafana-source:\n    interface: other\n");
        // Interface is checked before role.
        assert_eq!(
            m.validate_grafana_source("grafana-source", RelationRole::Provides)
                .unwrap_err()
                .to_string(),
            "The 'grafana-source' relation has 'other' as interface rather than the expected 'grafana_datasource'"
        );
        assert_eq!(
            m.validate_grafana_source("nope", RelationRole::Provides)
                .unwrap_err()
                .to_string(),
            "No relation named 'nope' found"
        );
        let m = meta("peers:\n  grafana-source:\n    interface: grafana_datasource\n");
        assert_eq!(
            m.validate_grafana_source("grafana-source", RelationRole::Requires),
            Err(RelationError::RoleMismatch(RelationRoleMismatch {
                relation: "grafana-source".into(),
                expected: RelationRole::Requires,
                actual: RelationRole::Peer,
            }))
        );
    }

    #[test]
    fn empty_and_duplicate_keys_like_pyyaml() {
        assert_eq!(meta(""), CharmMetadata::default());
        assert_eq!(meta("# nothing\n"), CharmMetadata::default());
        let m = meta("provides:\n  a:\n    interface: x\nprovides:\n  b:\n    interface: y\n");
        assert_eq!(m.provides.keys().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn malformed_yaml_names_the_file() {
        for text in [
            "provides: [\n",
            "- a\n- b\n",
            "provides:\n  grafana-source:\n    interface: [a, b]\n",
            "provides: 3\n",
        ] {
            let e = CharmMetadata::from_yaml_str(text, "charm/metadata.yaml").unwrap_err();
            assert!(
                matches!(&e, MetadataError::Yaml { path, .. } if path == Path::new("charm/metadata.yaml")),
                "{text}: {e}"
            );
            assert!(e.to_string().starts_with("charm/metadata.yaml: "), "{e}");
        }
    }
}
