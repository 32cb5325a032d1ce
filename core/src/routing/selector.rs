//! Choosing the SFU node for a new room (or for a room whose node is draining or died), as
//! small composable strategies — LiveKit's `selector` idea. A selector only ranks candidates;
//! the [`RoomStore`](super::RoomStore) then claims the first one still alive atomically, so
//! concurrent joins agree whatever each of them ranked.

use super::NodeInfo;

/// Ranks live nodes for a new room: best first. Nodes left out are never chosen.
pub trait NodeSelector: Send + Sync {
    fn rank(&self, nodes: &[NodeInfo]) -> Vec<String>;
}

/// Which selector a deployment uses, from configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectorConfig {
    /// Prefer nodes in this region (empty: no preference).
    pub region: String,
    /// Skip nodes hosting this many participants (0: no limit).
    pub max_participants: u32,
}

impl SelectorConfig {
    /// From `VEET_REGION` (falling back to Lambda's `AWS_REGION`) and
    /// `VEET_NODE_MAX_PARTICIPANTS`.
    pub fn from_env() -> Self {
        let region = std::env::var("VEET_REGION")
            .or_else(|_| std::env::var("AWS_REGION"))
            .unwrap_or_default();
        let max_participants = std::env::var("VEET_NODE_MAX_PARTICIPANTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Self {
            region,
            max_participants,
        }
    }

    /// Least-loaded, within the capacity limit, in the preferred region first.
    pub fn build(&self) -> Box<dyn NodeSelector> {
        let mut selector: Box<dyn NodeSelector> = Box::new(LeastLoaded);
        if self.max_participants > 0 {
            selector = Box::new(CapacityLimit {
                max_participants: self.max_participants,
                inner: selector,
            });
        }
        if !self.region.is_empty() {
            selector = Box::new(RegionAware {
                region: self.region.clone(),
                inner: selector,
            });
        }
        selector
    }
}

/// The node with the lowest [`NodeLoad::score`](super::NodeLoad::score) first; draining
/// nodes never.
pub struct LeastLoaded;

impl NodeSelector for LeastLoaded {
    fn rank(&self, nodes: &[NodeInfo]) -> Vec<String> {
        let mut live: Vec<&NodeInfo> = nodes.iter().filter(|n| !n.draining).collect();
        live.sort_by(|a, b| {
            a.load
                .score()
                .total_cmp(&b.load.score())
                .then_with(|| a.id.cmp(&b.id))
        });
        live.into_iter().map(|n| n.id.clone()).collect()
    }
}

/// Nodes in `region` first (in `inner`'s order), then the others: a meeting stays close to
/// its first joiner but still starts when the region has no node.
pub struct RegionAware {
    pub region: String,
    pub inner: Box<dyn NodeSelector>,
}

impl NodeSelector for RegionAware {
    fn rank(&self, nodes: &[NodeInfo]) -> Vec<String> {
        let ranked = self.inner.rank(nodes);
        let in_region = |id: &String| nodes.iter().any(|n| &n.id == id && n.region == self.region);
        let (mut near, far): (Vec<String>, Vec<String>) = ranked.into_iter().partition(in_region);
        near.extend(far);
        near
    }
}

/// Leaves out nodes that already host `max_participants`.
pub struct CapacityLimit {
    pub max_participants: u32,
    pub inner: Box<dyn NodeSelector>,
}

impl NodeSelector for CapacityLimit {
    fn rank(&self, nodes: &[NodeInfo]) -> Vec<String> {
        let full = |id: &String| {
            nodes
                .iter()
                .any(|n| &n.id == id && n.load.participants >= self.max_participants)
        };
        self.inner
            .rank(nodes)
            .into_iter()
            .filter(|id| !full(id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::NodeLoad;

    fn node(id: &str, region: &str, participants: u32, draining: bool) -> NodeInfo {
        NodeInfo {
            id: id.into(),
            http_address: String::new(),
            region: region.into(),
            version: String::new(),
            draining,
            load: NodeLoad {
                participants,
                ..NodeLoad::default()
            },
            ice_servers: Vec::new(),
        }
    }

    #[test]
    fn least_loaded_skips_draining_and_breaks_ties_by_id() {
        let nodes = [
            node("c", "", 5, false),
            node("b", "", 1, false),
            node("a", "", 1, false),
            node("d", "", 0, true),
        ];
        assert_eq!(LeastLoaded.rank(&nodes), ["a", "b", "c"]);
    }

    #[test]
    fn region_aware_prefers_the_region_then_falls_back() {
        let nodes = [
            node("eu-busy", "eu-west-1", 9, false),
            node("us-idle", "us-east-1", 0, false),
            node("eu-idle", "eu-west-1", 2, false),
        ];
        let s = SelectorConfig {
            region: "eu-west-1".into(),
            max_participants: 0,
        }
        .build();
        assert_eq!(s.rank(&nodes), ["eu-idle", "eu-busy", "us-idle"]);
        let s = SelectorConfig {
            region: "ap-south-1".into(),
            max_participants: 0,
        }
        .build();
        assert_eq!(s.rank(&nodes), ["us-idle", "eu-idle", "eu-busy"]);
    }

    #[test]
    fn capacity_limit_leaves_out_full_nodes() {
        let nodes = [node("full", "", 50, false), node("room", "", 49, false)];
        let s = SelectorConfig {
            region: String::new(),
            max_participants: 50,
        }
        .build();
        assert_eq!(s.rank(&nodes), ["room"]);
        let all_full = [node("full", "", 50, false)];
        assert!(s.rank(&all_full).is_empty());
    }

    #[test]
    fn region_and_capacity_compose() {
        let nodes = [
            node("eu-full", "eu", 10, false),
            node("eu-ok", "eu", 3, false),
            node("us-ok", "us", 0, false),
        ];
        let s = SelectorConfig {
            region: "eu".into(),
            max_participants: 10,
        }
        .build();
        assert_eq!(s.rank(&nodes), ["eu-ok", "us-ok"]);
    }
}
