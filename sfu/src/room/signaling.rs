//! SDP and ICE for a participant's two peer connections: the publisher answer, the subscriber
//! offers (renegotiated as tracks come and go) and candidates that arrive early.

use super::*;
use crate::media::{extension_id, AUDIO_LEVEL_URI, VIDEO_ORIENTATION_URI};

impl Room {
    pub(super) async fn publisher_connection(
        &mut self,
        participant_id: &str,
    ) -> anyhow::Result<Arc<dyn PeerConnection>> {
        let p = self
            .participants
            .get(participant_id)
            .ok_or_else(|| anyhow::anyhow!("unknown participant"))?;
        if let Some(pc) = &p.publisher {
            return Ok(pc.clone());
        }
        let pc = self
            .ctx
            .factory
            .build(self.peer_events(p, PeerRole::Publisher))
            .await?;
        if let Some(p) = self.participants.get_mut(participant_id) {
            p.publisher = Some(pc.clone());
        }
        Ok(pc)
    }

    pub(super) fn peer_events(&self, p: &Participant, role: PeerRole) -> Arc<PeerEvents> {
        Arc::new(PeerEvents {
            room: self.events.clone(),
            factory: self.ctx.factory.clone(),
            gateway: self.ctx.gateway.clone(),
            participant_id: p.info.id.clone(),
            connection_id: p.connection_id.clone(),
            role,
        })
    }

    pub(super) async fn signal(
        &mut self,
        participant_id: &str,
        role: PeerRole,
        signal: Signal,
    ) -> anyhow::Result<()> {
        let Some(p) = self.participants.get(participant_id) else {
            anyhow::bail!("not in this room on this node");
        };
        let connection_id = p.connection_id.clone();
        match (role, signal) {
            (PeerRole::Publisher, Signal::Offer { sdp, tracks }) => {
                anyhow::ensure!(
                    p.info.grants.can_publish,
                    "this participant may not publish"
                );
                let pc = self.publisher_connection(participant_id).await?;
                if let Some(p) = self.participants.get_mut(participant_id) {
                    for t in tracks {
                        p.offered_sources.insert(t.id, t.source);
                    }
                    p.audio_level_id = extension_id(&sdp, AUDIO_LEVEL_URI);
                    p.video_orientation_id = extension_id(&sdp, VIDEO_ORIENTATION_URI);
                    p.offered_rids = simulcast_rids(&sdp);
                }
                pc.set_remote_description(RTCSessionDescription::offer(sdp.clone())?)
                    .await?;
                self.flush_candidates(participant_id, PeerRole::Publisher)
                    .await;
                let answer = pc.create_answer(None).await?;
                pc.set_local_description(answer).await?;
                let sdp_out = self.local_sdp(&pc).await;
                self.ctx
                    .gateway
                    .send(&connection_id, &ServerFrame::Answer { role, sdp: sdp_out })
                    .await?;
                // Tracks the client stopped sending in this offer end now.
                let sending = sending_track_ids(&sdp);
                let stopped: Vec<String> = self
                    .forwarders
                    .values()
                    .filter(|f| f.publisher_id == participant_id && !sending.contains(&f.id()))
                    .map(|f| f.id())
                    .collect();
                for id in stopped {
                    self.unpublish(&id).await;
                }
            }
            (PeerRole::Subscriber, Signal::Answer { sdp }) => {
                let pc = p
                    .subscriber
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("no subscriber offer was made"))?;
                anyhow::ensure!(
                    p.negotiation.awaiting_answer(),
                    "no subscriber offer is awaiting an answer"
                );
                let offer = self.local_sdp(&pc).await;
                pc.set_remote_description(RTCSessionDescription::answer(sdp.clone())?)
                    .await?;
                self.flush_candidates(participant_id, PeerRole::Subscriber)
                    .await;
                let next = match self.participants.get_mut(participant_id) {
                    Some(p) => p.negotiation.answered(Instant::now()),
                    None => NegotiationStep::Wait,
                };
                if next == NegotiationStep::SendOffer {
                    self.send_offer(participant_id).await;
                }
                self.drop_unsupported(participant_id, &offer, &sdp).await;
            }
            (_, Signal::Candidate { candidate }) => {
                let init = RTCIceCandidateInit {
                    candidate: candidate.candidate,
                    sdp_mid: candidate.sdp_mid,
                    sdp_mline_index: candidate.sdp_mline_index,
                    ..Default::default()
                };
                match p.connection(role) {
                    Some(pc) if pc.remote_description().await.is_some() => {
                        pc.add_ice_candidate(init).await?
                    }
                    _ => {
                        if let Some(p) = self.participants.get_mut(participant_id) {
                            let pending = p.pending_candidates.entry(role).or_default();
                            // Bounded: a client cannot grow this without limit.
                            if pending.len() < 64 {
                                pending.push(init);
                            }
                        }
                    }
                }
            }
            (role, _) => anyhow::bail!("unexpected signal for the {role:?} connection"),
        }
        Ok(())
    }

    /// The connection's local description as clients must see it (public IP announced).
    pub(super) async fn local_sdp(&self, pc: &Arc<dyn PeerConnection>) -> String {
        pc.local_description()
            .await
            .map(|d| self.ctx.factory.public_sdp(&d.sdp))
            .unwrap_or_default()
    }

    pub(super) async fn flush_candidates(&mut self, participant_id: &str, role: PeerRole) {
        let Some(p) = self.participants.get_mut(participant_id) else {
            return;
        };
        let pending = p.pending_candidates.remove(&role).unwrap_or_default();
        let Some(pc) = p.connection(role).cloned() else {
            return;
        };
        for c in pending {
            if let Err(e) = pc.add_ice_candidate(c).await {
                tracing::debug!(error = %e, "buffered candidate rejected");
            }
        }
    }

    pub(super) async fn renegotiate(&mut self, participant_id: &str) {
        let step = match self.participants.get_mut(participant_id) {
            Some(p) => p.negotiation.tracks_changed(Instant::now()),
            None => return,
        };
        if step == NegotiationStep::SendOffer {
            self.send_offer(participant_id).await;
        }
    }

    /// Sends again every subscriber offer left unanswered too long (its answer was lost).
    pub(super) async fn resend_stale_offers(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .participants
            .values_mut()
            .filter_map(|p| p.negotiation.resend_due(now).then(|| p.info.id.clone()))
            .collect();
        for id in due {
            let Some(p) = self.participants.get(&id) else {
                continue;
            };
            let (Some(pc), connection_id) = (p.subscriber.clone(), p.connection_id.clone()) else {
                continue;
            };
            tracing::info!(participant = %id, "subscriber offer unanswered; sending it again");
            match pc.pending_local_description().await {
                // The offer is still ours to answer: the same SDP again.
                Some(offer) => {
                    let sdp = self.ctx.factory.public_sdp(&offer.sdp);
                    let frame = ServerFrame::Offer {
                        role: PeerRole::Subscriber,
                        sdp,
                    };
                    self.outbox.send(&connection_id, &frame);
                }
                // It never got that far (creating it failed): make a new one.
                None => self.send_offer(&id).await,
            }
        }
    }

    pub(super) async fn send_offer(&mut self, participant_id: &str) {
        let Some(p) = self.participants.get(participant_id) else {
            return;
        };
        let Some(pc) = p.subscriber.clone() else {
            return;
        };
        let connection_id = p.connection_id.clone();
        let result: anyhow::Result<()> = async {
            let offer = pc.create_offer(None).await?;
            pc.set_local_description(offer).await?;
            let sdp = self.local_sdp(&pc).await;
            // Through the outbox: after the track_published frames queued before it. A lost
            // offer is sent again when its answer does not come (see `negotiation`).
            self.outbox.send(
                &connection_id,
                &ServerFrame::Offer {
                    role: PeerRole::Subscriber,
                    sdp,
                },
            );
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(participant = participant_id, error = %e, "subscriber offer failed");
            if let Some(p) = self.participants.get_mut(participant_id) {
                p.negotiation.offer_failed(Instant::now());
            }
        }
    }
}

/// Track id → the simulcast RIDs its m-section sends (`a=rid:<rid> send`), for the
/// sections that have any. The node knows a track's layers from this, before (or without)
/// packets of each: a browser may hold back its top layer until its bandwidth estimate allows.
pub fn simulcast_rids(sdp: &str) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    let mut msid: Option<String> = None;
    let mut rids: Vec<String> = Vec::new();
    let mut flush = |msid: &mut Option<String>, rids: &mut Vec<String>| {
        if let Some(id) = msid.take() {
            if !rids.is_empty() {
                out.insert(id, std::mem::take(rids));
            }
        }
        rids.clear();
    };
    for line in sdp.lines() {
        let line = line.trim();
        if line.starts_with("m=") {
            flush(&mut msid, &mut rids);
        } else if let Some(rest) = line.strip_prefix("a=msid:") {
            msid = rest.split_whitespace().nth(1).map(str::to_owned);
        } else if let Some(rest) = line.strip_prefix("a=rid:") {
            let mut parts = rest.split_whitespace();
            if let (Some(rid), Some("send")) = (parts.next(), parts.next()) {
                if rids.len() < crate::layer_selector::MAX_LAYERS {
                    rids.push(rid.to_owned());
                }
            }
        }
    }
    flush(&mut msid, &mut rids);
    out
}

/// One m-section of an SDP, as far as codec negotiation goes.
struct Section {
    mid: Option<String>,
    /// Port 0: the answerer refused the section.
    rejected: bool,
    /// Encoding names from `a=rtpmap`, upper-case (`VP8`, `OPUS`).
    codecs: Vec<String>,
    track: Option<String>,
}

fn sections(sdp: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in sdp.lines() {
        let line = line.trim();
        if let Some(m) = line.strip_prefix("m=") {
            out.push(Section {
                mid: None,
                rejected: m.split(' ').nth(1) == Some("0"),
                codecs: Vec::new(),
                track: None,
            });
        } else if let Some(s) = out.last_mut() {
            if let Some(mid) = line.strip_prefix("a=mid:") {
                s.mid = Some(mid.to_owned());
            } else if let Some(rest) = line.strip_prefix("a=rtpmap:") {
                if let Some(name) = rest.split(' ').nth(1).and_then(|e| e.split('/').next()) {
                    s.codecs.push(name.to_ascii_uppercase());
                }
            } else if let Some(rest) = line.strip_prefix("a=msid:") {
                s.track = rest.split_whitespace().nth(1).map(str::to_owned);
            }
        }
    }
    out
}

/// The tracks of our `offer` the `answer` cannot receive in `codec_of(track)` (a MIME type
/// like `video/VP8`): their section was rejected, or answered without that codec.
pub fn refused_tracks(
    offer: &str,
    answer: &str,
    codec_of: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let answered = sections(answer);
    sections(offer)
        .into_iter()
        .filter_map(|o| {
            let track = o.track?;
            let mime = codec_of(&track)?;
            let name = mime.split('/').nth(1).unwrap_or(&mime).to_ascii_uppercase();
            let a = answered
                .iter()
                .find(|a| a.mid.is_some() && a.mid == o.mid)?;
            (a.rejected || !a.codecs.contains(&name)).then_some(track)
        })
        .collect()
}

/// Track ids (`a=msid:<stream> <track>`) of the m-sections an SDP sends on.
pub fn sending_track_ids(sdp: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut msid: Option<String> = None;
    let mut sending = false;
    let mut flush = |msid: &mut Option<String>, sending: bool| {
        if let Some(id) = msid.take() {
            if sending {
                ids.push(id);
            }
        }
    };
    for line in sdp.lines() {
        let line = line.trim();
        if line.starts_with("m=") {
            flush(&mut msid, sending);
            sending = true; // sendrecv is the default direction
        } else if let Some(rest) = line.strip_prefix("a=msid:") {
            msid = rest.split_whitespace().nth(1).map(str::to_owned);
        } else if line == "a=recvonly" || line == "a=inactive" {
            sending = false;
        }
    }
    flush(&mut msid, sending);
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tracks_an_answer_cannot_receive() {
        let offer = "m=audio 9 X 111\r\na=mid:0\r\na=msid:s mic\r\na=rtpmap:111 opus/48000/2\r\nm=video 9 X 96 98\r\na=mid:1\r\na=msid:s cam\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:98 H264/90000\r\nm=video 9 X 96\r\na=mid:2\r\na=msid:s screen\r\na=rtpmap:96 VP8/90000\r\n";
        let answer = "m=audio 9 X 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\nm=video 9 X 98\r\na=mid:1\r\na=rtpmap:98 H264/90000\r\nm=video 0 X 96\r\na=mid:2\r\n";
        let codec = |t: &str| {
            Some(
                if t == "mic" {
                    "audio/opus"
                } else {
                    "video/VP8"
                }
                .to_owned(),
            )
        };
        assert_eq!(refused_tracks(offer, answer, codec), vec!["cam", "screen"]);
        let fine = |t: &str| {
            Some(
                if t == "mic" {
                    "audio/opus"
                } else {
                    "video/H264"
                }
                .to_owned(),
            )
        };
        assert_eq!(refused_tracks(offer, answer, fine), vec!["screen"]);
        assert!(refused_tracks(offer, offer, codec).is_empty());
    }

    #[test]
    fn finds_the_simulcast_rids_of_each_track() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=msid:s1 mic\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=msid:s1 cam\r\na=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=msid:s1 screen\r\n";
        let rids = simulcast_rids(sdp);
        assert_eq!(rids.len(), 1);
        assert_eq!(rids["cam"], vec!["q", "h", "f"]);
    }

    #[test]
    pub(super) fn finds_sending_tracks() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\na=msid:s1 mic\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=inactive\r\na=msid:s1 cam\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\na=msid:s1 screen\r\nm=application 9 x\r\n";
        assert_eq!(
            sending_track_ids(sdp),
            vec!["mic".to_string(), "screen".to_string()]
        );
    }
}
