//! A synthetic simulcast camera: three layers (`q`/`h`/`f`, 1/2/4 packets a frame), each with
//! its own SSRC, sequence numbers and VP8 picture ids (from random starts, as encoders do),
//! every packet tagged with the MID and RID header extensions, as browsers send them.

use bytes::Bytes;
use rtc::rtp;

use super::payload::{encode_layer_payload, now_us, wrap_vp8, Vp8Fields};

/// The layers' RIDs, lowest first.
pub const RIDS: [&str; 3] = ["q", "h", "f"];
/// Packets per frame of each layer.
pub const PACKETS_PER_FRAME: [usize; 3] = [1, 2, 4];

pub const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
pub const RID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

/// Where a connection wants the MID and RID: their extension ids and the section's MID.
#[derive(Debug, Clone)]
pub struct Tagging {
    pub mid_id: u8,
    pub rid_id: u8,
    pub mid: Bytes,
}

/// Per-layer numbering of one simulcast source.
pub struct LayerClock {
    seq: [u16; 3],
    picture_id: [u16; 3],
    tl0: [u8; 3],
    payload_seq: [u64; 3],
}

impl Default for LayerClock {
    fn default() -> Self {
        Self {
            seq: rand::random(),
            picture_id: rand::random::<[u16; 3]>().map(|p| p & 0x7fff),
            tl0: rand::random(),
            payload_seq: [0; 3],
        }
    }
}

impl LayerClock {
    /// One frame of `layer` at RTP timestamp `ts`; headers carry no SSRC, payload type or
    /// extensions yet (those are per connection: see [`for_connection`]).
    pub fn frame(
        &mut self,
        layer: usize,
        keyframe: bool,
        ts: u32,
        identity: &str,
        size: usize,
    ) -> Vec<rtp::Packet> {
        let n = PACKETS_PER_FRAME[layer];
        let picture_id = self.picture_id[layer];
        let tl0 = self.tl0[layer];
        let packets = (0..n)
            .map(|i| {
                let inner = encode_layer_payload(
                    true,
                    layer as u8,
                    keyframe && i == 0,
                    self.payload_seq[layer],
                    now_us(),
                    identity,
                    size,
                );
                self.payload_seq[layer] += 1;
                let seq = self.seq[layer];
                self.seq[layer] = seq.wrapping_add(1);
                let fields = Vp8Fields {
                    picture_id,
                    tl0_pic_idx: tl0,
                    frame_start: i == 0,
                    keyframe: keyframe && i == 0,
                };
                rtp::Packet {
                    header: rtp::header::Header {
                        version: 2,
                        marker: i + 1 == n,
                        sequence_number: seq,
                        timestamp: ts,
                        ..Default::default()
                    },
                    payload: wrap_vp8(fields, &inner),
                }
            })
            .collect();
        self.picture_id[layer] = (picture_id + 1) & 0x7fff;
        self.tl0[layer] = tl0.wrapping_add(1);
        packets
    }
}

/// `packet` of `layer` as it goes out on one connection.
pub fn for_connection(
    mut packet: rtp::Packet,
    layer: usize,
    ssrc: u32,
    payload_type: u8,
    tagging: &Tagging,
) -> rtp::Packet {
    packet.header.ssrc = ssrc;
    packet.header.payload_type = payload_type;
    packet.header.extension = true;
    packet.header.extension_profile = rtp::header::EXTENSION_PROFILE_ONE_BYTE;
    packet.header.extensions = vec![
        rtp::header::Extension {
            id: tagging.mid_id,
            payload: tagging.mid.clone(),
        },
        rtp::header::Extension {
            id: tagging.rid_id,
            payload: Bytes::from_static(RIDS[layer].as_bytes()),
        },
    ];
    packet
}

/// The MID of the m-section that sends track `track_id` in `sdp`.
pub fn mid_of(sdp: &str, track_id: &str) -> Option<String> {
    let mut mid = None;
    for line in sdp.lines() {
        let line = line.trim();
        if line.starts_with("m=") {
            mid = None;
        } else if let Some(m) = line.strip_prefix("a=mid:") {
            mid = Some(m.to_owned());
        } else if let Some(rest) = line.strip_prefix("a=msid:") {
            if rest.split_whitespace().nth(1) == Some(track_id) {
                return mid;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::payload::{decode_payload, unwrap_vp8};

    #[test]
    fn layers_number_their_packets_and_pictures_separately() {
        let mut c = LayerClock::default();
        let q1 = c.frame(0, true, 0, "x", 200);
        let f1 = c.frame(2, true, 0, "x", 200);
        let q2 = c.frame(0, false, 3000, "x", 200);
        assert_eq!((q1.len(), f1.len()), (1, 4));
        assert_eq!(
            q2[0].header.sequence_number,
            q1[0].header.sequence_number.wrapping_add(1)
        );
        let pid = |p: &rtp::Packet| unwrap_vp8(&p.payload).unwrap().0.picture_id;
        assert_eq!(pid(&q2[0]), (pid(&q1[0]) + 1) & 0x7fff);
        assert!(f1.iter().all(|p| pid(p) == pid(&f1[0])));
        assert!(unwrap_vp8(&f1[0].payload).unwrap().0.keyframe);
        assert!(!unwrap_vp8(&f1[1].payload).unwrap().0.frame_start);
        assert!(f1[3].header.marker && !f1[2].header.marker);
        assert_eq!(decode_payload(&f1[1].payload).unwrap().layer, 2);
    }

    #[test]
    fn finds_the_mid_of_a_track() {
        let sdp = "m=audio 9 X 111\r\na=mid:0\r\na=msid:s audio-x\r\nm=video 9 X 96\r\na=mid:1\r\na=msid:s video-x\r\n";
        assert_eq!(mid_of(sdp, "video-x").as_deref(), Some("1"));
        assert_eq!(mid_of(sdp, "nope"), None);
    }
}
