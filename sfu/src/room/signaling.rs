//! SDP and ICE for a participant's two peer connections: the publisher answer, the subscriber
//! offers (renegotiated as tracks come and go) and candidates that arrive early.

use super::*;
use crate::media::{extension_id, MediaFlow, AUDIO_LEVEL_URI, VIDEO_ORIENTATION_URI};
use veet_core::sdp::simulcast_rids;

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
            .build_with(
                self.peer_events(p, PeerRole::Publisher),
                MediaFlow::Inbound,
                None,
            )
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
                // A refused track is taken off before any down track may send (they bind
                // only once answered, below); its removal marks the negotiation dirty, so
                // the answer step re-offers.
                self.drop_unsupported(participant_id, &offer, &sdp).await;
                if let Some(p) = self.participants.get_mut(participant_id) {
                    for id in std::mem::take(&mut p.offered_down_tracks) {
                        if let Some((down, _)) = p.down_tracks.get(&id) {
                            down.mark_negotiated();
                        }
                    }
                }
                self.flush_candidates(participant_id, PeerRole::Subscriber)
                    .await;
                let next = match self.participants.get_mut(participant_id) {
                    Some(p) => p.negotiation.answered(Instant::now()),
                    None => NegotiationStep::Wait,
                };
                if next == NegotiationStep::SendOffer {
                    self.send_offer(participant_id).await;
                }
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
        let carried: Vec<String> = p.down_tracks.keys().cloned().collect();
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
        match result {
            Ok(()) => {
                if let Some(p) = self.participants.get_mut(participant_id) {
                    p.offered_down_tracks = carried;
                }
            }
            Err(e) => {
                tracing::warn!(participant = participant_id, error = %e, "subscriber offer failed");
                if let Some(p) = self.participants.get_mut(participant_id) {
                    p.negotiation.offer_failed(Instant::now());
                }
            }
        }
    }
}
