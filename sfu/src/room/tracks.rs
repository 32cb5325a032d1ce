//! Published tracks: forwarding a new one to every subscriber, removing one that ended.

use super::*;
use crate::media::{MediaFlow, AUDIO_LEVEL_URI, VIDEO_ORIENTATION_URI};
use veet_core::sdp::refused_tracks;

impl Room {
    pub(super) async fn on_track(&mut self, participant_id: &str, track: Arc<dyn TrackRemote>) {
        if self.phase != Phase::Serving {
            return;
        }
        let Some(p) = self.participants.get(participant_id) else {
            return;
        };
        let Some(ssrc) = track.ssrcs().await.first().copied() else {
            return;
        };
        let Some(codec) = track.codec(ssrc).await else {
            return;
        };
        let kind = match track.kind().await {
            RtpCodecKind::Audio => TrackKind::Audio,
            _ => TrackKind::Video,
        };
        let mut id = track.track_id().await;
        if id.is_empty() || self.forwarders.contains_key(&id) {
            id = format!("{participant_id}-{ssrc}");
        }
        let source = p.offered_sources.get(&id).copied().unwrap_or(match kind {
            TrackKind::Audio => TrackSource::Microphone,
            TrackKind::Video => TrackSource::Camera,
        });
        let info = TrackInfo {
            id: id.clone(),
            kind,
            source,
            muted: false,
        };
        tracing::info!(room = %self.code, participant = participant_id, track = %id, codec = %codec.mime_type, "track published");
        let (audio_level_id, extensions) = match kind {
            TrackKind::Audio => (
                p.audio_level_id,
                p.audio_level_id.map(|id| (id, AUDIO_LEVEL_URI)),
            ),
            TrackKind::Video => (
                None,
                p.video_orientation_id.map(|id| (id, VIDEO_ORIENTATION_URI)),
            ),
        };
        let forwarder = TrackForwarder::new(
            info.clone(),
            participant_id.to_owned(),
            codec,
            track,
            ssrc,
            audio_level_id,
            self.ctx.metrics.clone(),
        );
        if let Some(rids) = p.offered_rids.get(&info.id) {
            forwarder.declare_layers(rids);
        }
        forwarder.set_forwarded_extensions(extensions.into_iter().collect());
        if let Some((name, pct)) = &self.ctx.fault_uplink_loss {
            if *name == p.info.name {
                tracing::warn!(participant = %p.info.id, pct, "test fault: dropping this share of the track's packets");
                forwarder.uplink.set_drop_pct(*pct);
            }
        }
        Metrics::gauge(&self.ctx.metrics.tracks, 1);
        let events = self.events.clone();
        let run = forwarder.clone();
        tokio::spawn(async move {
            run.run().await;
            let _ = events.send(RoomEvent::TrackEnded { track_id: id }).await;
        });
        self.forwarders.insert(info.id.clone(), forwarder.clone());
        if self.phase == Phase::Serving {
            if let Err(e) = self
                .ctx
                .routing
                .rooms
                .put_track(&self.code, participant_id, &info)
                .await
            {
                tracing::warn!(error = %e, "could not record a published track");
            }
        }
        if let Some(w) = &self.ctx.webhooks {
            let mut event =
                WebhookEvent::new(EventKind::TrackPublished, &self.code).with_track(info.clone());
            event.participant = self
                .participants
                .get(participant_id)
                .map(|p| p.info.clone());
            w.emit(event).await;
        }
        self.broadcast(&ServerFrame::TrackPublished {
            participant_id: participant_id.to_owned(),
            track: info,
        })
        .await;
        let subscribers: Vec<String> = self
            .participants
            .values()
            .filter(|s| s.info.id != participant_id && s.info.grants.can_subscribe)
            .map(|s| s.info.id.clone())
            .collect();
        for s in subscribers {
            if self.add_down_track(&s, &forwarder).await {
                self.renegotiate(&s).await;
            }
        }
    }

    /// Adds `forwarder`'s track to a subscriber's connection; whether anything changed.
    pub(super) async fn add_down_track(
        &mut self,
        subscriber_id: &str,
        forwarder: &Arc<TrackForwarder>,
    ) -> bool {
        let track_id = forwarder.id();
        let pc = {
            let Some(s) = self.participants.get(subscriber_id) else {
                return false;
            };
            if s.down_tracks.contains_key(&track_id)
                || forwarder.publisher_id == subscriber_id
                || s.unsupported.contains(&track_id)
            {
                return false;
            }
            match &s.subscriber {
                Some(pc) => pc.clone(),
                None => match self
                    .ctx
                    .factory
                    .build_with(
                        self.peer_events(s, PeerRole::Subscriber),
                        MediaFlow::Outbound,
                        Some(s.downlink.meter.clone()),
                    )
                    .await
                {
                    Ok(pc) => {
                        if let Some(s) = self.participants.get_mut(subscriber_id) {
                            s.subscriber = Some(pc.clone());
                        }
                        pc
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not create a subscriber connection");
                        return false;
                    }
                },
            }
        };
        let (local, ssrc) = forwarder.new_local_track();
        let sender = match pc.add_track(local.clone() as Arc<dyn TrackLocal>).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "could not add a track to a subscriber");
                return false;
            }
        };
        let downlink = match self.participants.get(subscriber_id) {
            Some(s) => s.downlink.clone(),
            None => return false,
        };
        let target = self.initial_layer(subscriber_id, forwarder);
        let down =
            forwarder.subscribe(subscriber_id, local, ssrc, sender.clone(), downlink, target);
        if let Some(s) = self.participants.get_mut(subscriber_id) {
            s.down_tracks.insert(track_id, (down, sender));
        }
        true
    }

    pub(super) async fn unpublish(&mut self, track_id: &str) {
        let Some(forwarder) = self.forwarders.remove(track_id) else {
            return;
        };
        Metrics::gauge(&self.ctx.metrics.tracks, -1);
        if self.phase != Phase::Serving {
            // A room that moved away tells nobody: the tracks live on at the new node.
            for s in self.participants.values_mut() {
                s.down_tracks.remove(track_id);
            }
            return;
        }
        let publisher = forwarder.publisher_id.clone();
        let mut changed = Vec::new();
        for s in self.participants.values_mut() {
            s.views.remove(track_id);
            if let Some((down, sender)) = s.down_tracks.remove(track_id) {
                drop(down);
                if let Some(pc) = &s.subscriber {
                    if let Err(e) = pc.remove_track(&sender).await {
                        tracing::debug!(error = %e, "remove_track");
                    }
                }
                changed.push(s.info.id.clone());
            }
        }
        for s in changed {
            self.renegotiate(&s).await;
        }
        if self.owns_room().await {
            if let Err(e) = self
                .ctx
                .routing
                .rooms
                .remove_track(&self.code, &publisher, track_id)
                .await
            {
                tracing::warn!(error = %e, "could not record an unpublished track");
            }
        }
        if let Some(w) = &self.ctx.webhooks {
            let mut event = WebhookEvent::new(EventKind::TrackUnpublished, &self.code)
                .with_track(forwarder.track_info());
            event.participant = self.participants.get(&publisher).map(|p| p.info.clone());
            w.emit(event).await;
        }
        self.broadcast(&ServerFrame::TrackUnpublished {
            participant_id: publisher,
            track_id: track_id.to_owned(),
        })
        .await;
    }

    /// After a subscriber's answer: a track whose codec its connection did not accept is
    /// taken off (never left silent) and the subscriber told why (`track_unsupported`).
    pub(super) async fn drop_unsupported(
        &mut self,
        subscriber_id: &str,
        offer: &str,
        answer: &str,
    ) {
        let Some(s) = self.participants.get(subscriber_id) else {
            return;
        };
        let codec_of = |track: &str| {
            s.down_tracks
                .get(track)
                .map(|(d, _)| d.forwarder.codec.mime_type.clone())
        };
        let refused: Vec<(String, String, String, &str)> = refused_tracks(offer, answer, codec_of)
            .into_iter()
            .filter_map(|track_id| {
                let (down, _) = s.down_tracks.get(&track_id)?;
                let f = &down.forwarder;
                let kind = if f.is_video() { "video" } else { "audio" };
                Some((
                    track_id,
                    f.publisher_id.clone(),
                    f.codec.mime_type.clone(),
                    kind,
                ))
            })
            .collect();
        if refused.is_empty() {
            return;
        }
        let Some(s) = self.participants.get_mut(subscriber_id) else {
            return;
        };
        let connection_id = s.connection_id.clone();
        for (track_id, publisher_id, codec, kind) in refused {
            tracing::info!(subscriber = subscriber_id, track = %track_id, %codec, "subscriber cannot decode this codec");
            if let Some((down, sender)) = s.down_tracks.remove(&track_id) {
                drop(down);
                if let Some(pc) = &s.subscriber {
                    if let Err(e) = pc.remove_track(&sender).await {
                        tracing::debug!(error = %e, "remove_track");
                    }
                }
            }
            s.unsupported.insert(track_id.clone());
            let name = codec.split('/').nth(1).unwrap_or(&codec).to_owned();
            self.outbox.send(
                &connection_id,
                &ServerFrame::TrackUnsupported {
                    participant_id: publisher_id,
                    track_id,
                    codec: codec.clone(),
                    message: format!(
                        "this device cannot play {name} {kind}, which the sender uses"
                    ),
                },
            );
        }
        self.renegotiate(subscriber_id).await;
    }
}
