//! A room's life on this node beyond serving: closing for everyone, moving to another node,
//! fencing (letting go of a room another node took over), restoring after Redis lost it.

use super::*;

impl Room {
    /// Tells everyone the meeting is over; the room then closes.
    pub(super) async fn close_for_everyone(&mut self, reason: CloseReason) {
        let frame = ServerFrame::RoomClosed { reason };
        self.outbox.flush().await;
        let ids = self.participants.values().map(|p| p.connection_id.as_str());
        send_to_all(self.ctx.gateway.as_ref(), ids, &frame).await;
        self.phase = Phase::Closed;
    }

    /// Stops serving: later messages for the room start a new task (the room may come back).
    pub(super) fn leave(&mut self, until: tokio::time::Instant) {
        self.phase = Phase::Leaving { until };
        self.ctx.directory.retire(&self.code, &self.events);
    }

    /// This node drains: hand the room to another node, or end it when there is none.
    pub(super) async fn move_away(&mut self, reason: CloseReason, until: tokio::time::Instant) {
        if self.phase != Phase::Serving {
            return;
        }
        let me = self.ctx.node_id.clone();
        let target = match migration::pick_target(&self.ctx, &me).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(room = %self.code, error = %e, "cannot look for a node to move to");
                None
            }
        };
        let Some(target) = target else {
            tracing::info!(room = %self.code, "no other node can take the room; ending it");
            self.close_for_everyone(reason).await;
            return;
        };
        match self
            .ctx
            .routing
            .rooms
            .reassign_room(&self.code, &me, &target)
            .await
        {
            Ok(Some(assignment)) => {
                let records = self.records();
                // Offers queued for the old connections go first: the client takes
                // everything after `migrate` as the new node's.
                self.outbox.flush().await;
                if let Err(e) =
                    migration::hand_over(&self.ctx, &self.code, &assignment, &records, reason).await
                {
                    tracing::warn!(room = %self.code, error = %e, "hand-over failed");
                }
                self.leave(until);
            }
            Ok(None) => {
                // Someone else moved it already (we were thought dead): just let go.
                self.leave(tokio::time::Instant::now());
            }
            Err(e) => {
                tracing::warn!(room = %self.code, error = %e, "could not move the room; ending it");
                self.close_for_everyone(reason).await;
            }
        }
    }

    /// Fencing: a room another node took over (this node was paused, partitioned or thought
    /// dead) lets go of its stale connections and never writes shared state again.
    pub(super) async fn check_still_ours(&mut self) {
        if self.phase != Phase::Serving {
            return;
        }
        if let Ok(Some(info)) = self.ctx.routing.rooms.room(&self.code).await {
            match info.node {
                Some(node) if node == self.ctx.node_id => {
                    self.epoch = self.epoch.max(info.epoch);
                    self.settings = info.settings;
                }
                Some(node) => {
                    tracing::warn!(room = %self.code, now_on = %node, "the room moved while this node was away; letting go");
                    self.leave(tokio::time::Instant::now());
                }
                None => {}
            }
        }
    }

    /// Whether this node may still write the room's shared state.
    pub(super) async fn owns_room(&mut self) -> bool {
        self.check_still_ours().await;
        self.phase == Phase::Serving
    }

    /// The participants as the routing store should have them.
    pub(super) fn records(&self) -> Vec<ParticipantRecord> {
        self.participants
            .values()
            .map(|p| {
                let mut info = p.info.clone();
                info.tracks = self
                    .forwarders
                    .values()
                    .filter(|f| f.publisher_id == info.id)
                    .map(|f| f.track_info())
                    .collect();
                ParticipantRecord {
                    info,
                    connection_id: p.connection_id.clone(),
                }
            })
            .collect()
    }

    /// Records the room, its participants and their connections again after the routing
    /// store lost them; if another node has the room now, moves the participants there.
    pub(super) async fn restore(&mut self) {
        if self.phase != Phase::Serving {
            return;
        }
        let snapshot = RoomSnapshot {
            assignment: Assignment {
                node: self.ctx.node_id.clone(),
                epoch: self.epoch,
            },
            settings: self.settings.clone(),
            participants: self.records(),
        };
        let records = &snapshot.participants;
        let routing = &self.ctx.routing;
        match routing.rooms.restore_room(&self.code, &snapshot).await {
            Ok(Restore::Restored { added }) => {
                for r in records {
                    let conn = Connection {
                        id: r.connection_id.clone(),
                        room: self.code.clone(),
                        identity: r.info.identity.clone(),
                        name: r.info.name.clone(),
                        grants: r.info.grants,
                        participant_id: Some(r.info.id.clone()),
                        connected_at: unix_millis(),
                        guest: false,
                        source_ip: None,
                    };
                    if routing
                        .connections
                        .connection(&conn.id)
                        .await
                        .ok()
                        .flatten()
                        .is_none()
                    {
                        if let Err(e) = routing.connections.put_connection(&conn).await {
                            tracing::warn!(error = %e, "could not restore a connection");
                        }
                    }
                }
                tracing::info!(room = %self.code, added, "room restored in the routing store");
            }
            Ok(Restore::Elsewhere(a)) => {
                tracing::warn!(room = %self.code, on = %a.node, "restored room lives elsewhere now; moving there");
                self.outbox.flush().await;
                if let Err(e) = migration::hand_over(
                    &self.ctx,
                    &self.code,
                    &a,
                    records,
                    CloseReason::NodeFailed,
                )
                .await
                {
                    tracing::warn!(error = %e, "hand-over failed");
                }
                self.leave(tokio::time::Instant::now() + Duration::from_secs(10));
            }
            Err(e) => tracing::warn!(room = %self.code, error = %e, "restore failed"),
        }
    }

    /// Closes every connection without telling anyone or touching shared state.
    pub(super) async fn close_quietly(&mut self) {
        let tracks = self.forwarders.len() as i64;
        self.forwarders.clear();
        Metrics::gauge(&self.ctx.metrics.tracks, -tracks);
        for (_, mut p) in self.participants.drain() {
            Metrics::gauge(&self.ctx.metrics.participants, -1);
            p.close().await;
        }
    }
}
