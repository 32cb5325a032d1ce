//! Which simulcast layer a subscriber should get of one video track: the smallest that covers
//! the size it displays the track at, among the layers the publisher is sending. Pure, no I/O.

/// Simulcast layers per track (q, h, f).
pub const MAX_LAYERS: usize = veet_core::sdp::MAX_RIDS;

/// A layer index from its RID: the web client's `q`/`h`/`f`, and the other common spellings.
pub fn layer_of_rid(rid: &str) -> u8 {
    match rid {
        "h" | "m" | "mid" | "1" => 1,
        "f" | "hi" | "high" | "2" => 2,
        _ => 0,
    }
}

/// What the node knows of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayerInfo {
    /// Frame size from its last keyframe; 0 × 0 while unknown.
    pub width: u32,
    pub height: u32,
    /// Packets arrived recently (the publisher sends it).
    pub active: bool,
    /// The publisher ever sent it.
    pub seen: bool,
}

/// How a subscriber displays a track, as it last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// No report yet.
    Unknown,
    /// Not shown (hidden, off-screen, audio-only tile).
    Hidden,
    /// Shown at this many device pixels; pinned tiles get the best layer.
    Shown {
        width: u32,
        height: u32,
        pinned: bool,
    },
}

/// A layer's size when no keyframe told it yet: what the web client sends (q/h/f of 720p).
fn assumed_size(layer: usize) -> (u32, u32) {
    match layer {
        0 => (320, 180),
        1 => (640, 360),
        _ => (1280, 720),
    }
}

/// The layer the subscriber should get (`None`: nothing), and the layer it would want if every
/// layer were on (what dynacast asks the publisher for).
pub fn select(layers: &[LayerInfo], display: Display) -> (Option<u8>, Option<u8>) {
    let seen: Vec<usize> = (0..layers.len()).filter(|&i| layers[i].seen).collect();
    let Some(&top) = seen.last() else {
        return (None, None);
    };
    let wanted = match display {
        Display::Hidden => return (None, None),
        // Until the subscriber reports, a middle layer: sharp enough for a tile, cheap.
        Display::Unknown => seen.iter().copied().rfind(|&i| i <= 1).unwrap_or(top),
        Display::Shown { pinned: true, .. } => top,
        Display::Shown { width, height, .. } => seen
            .iter()
            .copied()
            .find(|&i| {
                let (w, h) = match layers[i] {
                    LayerInfo { width: 0, .. } | LayerInfo { height: 0, .. } => assumed_size(i),
                    l => (l.width, l.height),
                };
                // 10 % short still looks sharp; it saves a layer step for most tiles.
                w * 10 >= width * 9 && h * 10 >= height * 9
            })
            .unwrap_or(top),
    };
    // A paused or stalled layer: the nearest one that flows, lower first (cheaper, and the
    // wanted one comes back once dynacast turns it on).
    let flowing = (0..=wanted)
        .rev()
        .chain(wanted + 1..layers.len())
        .find(|&i| layers[i].active);
    let now = flowing.unwrap_or(wanted);
    (Some(now as u8), Some(wanted as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(width: u32, height: u32, active: bool) -> LayerInfo {
        LayerInfo {
            width,
            height,
            active,
            seen: true,
        }
    }

    fn three() -> Vec<LayerInfo> {
        vec![
            layer(320, 180, true),
            layer(640, 360, true),
            layer(1280, 720, true),
        ]
    }

    fn shown(width: u32, height: u32) -> Display {
        Display::Shown {
            width,
            height,
            pinned: false,
        }
    }

    #[test]
    fn rids_map_to_layers() {
        assert_eq!(["q", "h", "f", "", "x"].map(layer_of_rid), [0, 1, 2, 0, 0]);
    }

    #[test]
    fn picks_the_smallest_layer_that_covers_the_tile() {
        let l = three();
        assert_eq!(select(&l, shown(200, 112)), (Some(0), Some(0)));
        assert_eq!(select(&l, shown(320, 180)), (Some(0), Some(0)));
        assert_eq!(select(&l, shown(340, 190)), (Some(0), Some(0)));
        assert_eq!(select(&l, shown(400, 225)), (Some(1), Some(1)));
        assert_eq!(select(&l, shown(1000, 560)), (Some(2), Some(2)));
        assert_eq!(select(&l, shown(2560, 1440)), (Some(2), Some(2)));
    }

    #[test]
    fn pinned_gets_the_top_layer_and_hidden_gets_nothing() {
        let l = three();
        let pinned = Display::Shown {
            width: 100,
            height: 100,
            pinned: true,
        };
        assert_eq!(select(&l, pinned), (Some(2), Some(2)));
        assert_eq!(select(&l, Display::Hidden), (None, None));
        assert_eq!(select(&l, Display::Unknown), (Some(1), Some(1)));
    }

    #[test]
    fn a_paused_layer_falls_back_to_one_that_flows_while_still_wanted() {
        let mut l = three();
        l[2].active = false;
        assert_eq!(select(&l, shown(1280, 720)), (Some(1), Some(2)));
        l[0].active = false;
        l[1].active = false;
        // Nothing flows: keep asking for the wanted one.
        assert_eq!(select(&l, shown(1280, 720)), (Some(2), Some(2)));
        l[2].active = true;
        assert_eq!(select(&l, shown(100, 50)), (Some(2), Some(0)));
    }

    #[test]
    fn sizes_not_yet_known_are_assumed_and_single_layer_tracks_get_their_layer() {
        let unknown = vec![
            LayerInfo {
                active: true,
                seen: true,
                ..Default::default()
            };
            3
        ];
        assert_eq!(select(&unknown, shown(640, 360)), (Some(1), Some(1)));
        let single = vec![layer(1920, 1080, true)];
        assert_eq!(select(&single, shown(100, 50)), (Some(0), Some(0)));
        assert_eq!(select(&single, Display::Unknown), (Some(0), Some(0)));
        assert_eq!(select(&[], shown(100, 50)), (None, None));
    }
}
