//! Sharing one subscriber's downlink among its video tracks: audio is never cut (the caller
//! takes it off the budget first); the most important video tracks — pinned, screen share,
//! the active speaker, then the largest tiles — get their lowest layer first, then are raised
//! towards the layer their view wants while the budget lasts. A track that does not fit even
//! at its lowest layer is paused whole, rather than sent with holes only a keyframe repairs.
//! Pure, no I/O.

use crate::layer_selector::MAX_LAYERS;

/// Moving a track up needs this much headroom over the layer's cost, so that a layer whose
/// bitrate wobbles around the budget does not flip up and down.
const UP_HEADROOM: f64 = 1.15;

/// What the subscriber should get of one video track, and what each layer costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    /// Lower is more important.
    pub priority: u8,
    /// Device pixels it is shown at (ties in priority go to the larger tile).
    pub area: u64,
    /// The layer its view asks for (`None`: hidden, costs nothing).
    pub wanted: Option<u8>,
    /// The layer it is being sent now, if any.
    pub current: Option<u8>,
    /// Bits per second of each layer; `None` for a layer not being sent.
    pub cost: [Option<u64>; MAX_LAYERS],
}

/// Priorities, most important first.
pub const PINNED: u8 = 0;
pub const SCREEN: u8 = 1;
pub const SPEAKER: u8 = 2;
pub const OTHER: u8 = 3;

/// The layer each track gets (in the order given) within `budget` bits per second.
pub fn allocate(budget: u64, demands: &[Demand]) -> Vec<Option<u8>> {
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by_key(|&i| (demands[i].priority, std::cmp::Reverse(demands[i].area)));
    let mut out: Vec<Option<u8>> = vec![None; demands.len()];
    let mut left = budget as f64;
    // Everyone shown gets its lowest sent layer, in order, while it fits.
    for &i in &order {
        let d = &demands[i];
        let Some(wanted) = d.wanted else { continue };
        let Some(lowest) = (0..=wanted).find(|&l| d.cost[usize::from(l)].is_some()) else {
            continue;
        };
        let cost = d.cost[usize::from(lowest)].unwrap_or(0) as f64;
        let need = if d.current.is_some() {
            cost
        } else {
            cost * UP_HEADROOM
        };
        if need <= left {
            out[i] = Some(lowest);
            left -= cost;
        }
    }
    // Then each is raised towards what its view wants, most important first.
    for &i in &order {
        let d = &demands[i];
        let (Some(mut at), Some(wanted)) = (out[i], d.wanted) else {
            continue;
        };
        for next in at + 1..=wanted {
            let Some(cost) = d.cost[usize::from(next)] else {
                continue;
            };
            let extra = cost as f64 - d.cost[usize::from(at)].unwrap_or(0) as f64;
            let need = if d.current.is_some_and(|c| c >= next) {
                extra
            } else {
                extra + cost as f64 * (UP_HEADROOM - 1.0)
            };
            if need > left {
                break;
            }
            left -= extra;
            at = next;
        }
        out[i] = Some(at);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYERS: [Option<u64>; 3] = [Some(150_000), Some(500_000), Some(1_500_000)];

    fn demand(priority: u8, wanted: Option<u8>, current: Option<u8>) -> Demand {
        Demand {
            priority,
            area: 640 * 360,
            wanted,
            current,
            cost: LAYERS,
        }
    }

    #[test]
    fn plenty_gives_everyone_what_their_view_wants() {
        let d = [
            demand(OTHER, Some(1), Some(1)),
            demand(PINNED, Some(2), Some(2)),
        ];
        assert_eq!(allocate(10_000_000, &d), vec![Some(1), Some(2)]);
    }

    #[test]
    fn the_pinned_track_is_raised_first() {
        let d = [
            demand(OTHER, Some(1), Some(1)),
            demand(PINNED, Some(2), Some(2)),
        ];
        // 1.5 M for the pin, 150 k for the other: both shown, the pin sharp.
        assert_eq!(allocate(1_700_000, &d), vec![Some(0), Some(2)]);
    }

    #[test]
    fn a_track_that_does_not_fit_is_paused_whole() {
        let d = [
            demand(SPEAKER, Some(1), Some(1)),
            demand(OTHER, Some(0), Some(0)),
            demand(OTHER, Some(0), Some(0)),
        ];
        assert_eq!(allocate(320_000, &d), vec![Some(0), Some(0), None]);
    }

    #[test]
    fn hidden_tracks_cost_nothing() {
        let d = [demand(OTHER, None, None), demand(OTHER, Some(2), Some(2))];
        assert_eq!(allocate(1_600_000, &d), vec![None, Some(2)]);
    }

    #[test]
    fn going_up_needs_headroom_staying_does_not() {
        let d = [demand(PINNED, Some(2), Some(1))];
        assert_eq!(allocate(1_600_000, &d), vec![Some(1)]);
        let d = [demand(PINNED, Some(2), Some(2))];
        assert_eq!(allocate(1_600_000, &d), vec![Some(2)]);
        assert_eq!(
            allocate(1_800_000, &[demand(PINNED, Some(2), Some(1))]),
            vec![Some(2)]
        );
    }

    #[test]
    fn layers_not_sent_are_skipped() {
        let mut d = demand(PINNED, Some(2), Some(0));
        d.cost[1] = None;
        assert_eq!(allocate(10_000_000, &[d]), vec![Some(2)]);
        assert_eq!(allocate(600_000, &[d]), vec![Some(0)]);
    }

    #[test]
    fn larger_tiles_win_ties() {
        let mut big = demand(OTHER, Some(0), Some(0));
        big.area = 1280 * 720;
        let small = demand(OTHER, Some(0), Some(0));
        assert_eq!(allocate(200_000, &[small, big]), vec![None, Some(0)]);
    }
}
