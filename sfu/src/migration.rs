//! Moving rooms between nodes: when a node drains (it moves its own rooms), when a node dies
//! (a survivor notices it left the registry and moves its rooms), and when a restored room
//! turns out to live elsewhere. The participants stay in the meeting: each is told to
//! `migrate` and the new node is sent their `Join`s; clients then connect to it and publish
//! again, keeping their old connections until the new ones carry media.

use std::collections::HashSet;

use veet_core::gateway::send_to_all;
use veet_core::protocol::{CloseReason, NodeMessage, ServerFrame};
use veet_core::routing::{Assignment, NodeInfo, ParticipantRecord, RoutingError};

use crate::room::NodeContext;

/// The best live node for a room leaving `exclude`, by the node's selector.
pub async fn pick_target(ctx: &NodeContext, exclude: &str) -> Result<Option<String>, RoutingError> {
    let live: Vec<NodeInfo> = ctx
        .routing
        .nodes
        .live_nodes()
        .await?
        .into_iter()
        .filter(|n| n.id != exclude)
        .collect();
    Ok(ctx.selector.rank(&live).into_iter().next())
}

/// Tells `participants` to move and the room's new node who they are. The `migrate` frames
/// go first: the new node's subscriber offers must reach clients that already expect them.
/// Signals clients send before the `Join`s arrive are held by the new node.
pub async fn hand_over(
    ctx: &NodeContext,
    room: &str,
    to: &Assignment,
    participants: &[ParticipantRecord],
    reason: CloseReason,
) -> Result<(), RoutingError> {
    let frame = ServerFrame::Migrate { reason };
    send_to_all(
        ctx.gateway.as_ref(),
        participants.iter().map(|p| p.connection_id.as_str()),
        &frame,
    )
    .await;
    for p in participants {
        let join = NodeMessage::Join {
            room: room.to_owned(),
            connection_id: p.connection_id.clone(),
            participant: p.info.clone(),
            epoch: to.epoch,
        };
        ctx.routing.bus.publish(&to.node, &join).await?;
    }
    tracing::info!(room, to = %to.node, epoch = to.epoch, participants = participants.len(), ?reason, "room handed over");
    Ok(())
}

/// A survivor's view of the registry between heartbeats, to notice nodes that died.
#[derive(Default)]
pub struct FleetWatch {
    known: HashSet<String>,
    beats: u64,
}

/// Every this many heartbeats, rooms are scanned even if no node vanished (one may have died
/// before this node started).
const FULL_SCAN_EVERY: u64 = 10;

impl FleetWatch {
    /// Moves rooms whose node is no longer alive to live nodes. Each room is claimed with a
    /// compare-and-set on its node, so when several survivors notice at once one moves it.
    /// Returns how many rooms this node moved.
    pub async fn check(&mut self, ctx: &NodeContext) -> Result<usize, RoutingError> {
        self.beats += 1;
        let live = ctx.routing.nodes.live_nodes().await?;
        let ids: HashSet<String> = live.iter().map(|n| n.id.clone()).collect();
        let vanished = self.known.difference(&ids).next().is_some();
        self.known = ids;
        if !vanished && self.beats % FULL_SCAN_EVERY != 1 {
            return Ok(0);
        }
        let mut moved = 0;
        for code in ctx.routing.rooms.list_rooms().await? {
            let Some(info) = ctx.routing.rooms.room(&code).await? else {
                continue;
            };
            let Some(dead) = info.node.filter(|n| !self.known.contains(n)) else {
                continue;
            };
            let Some(target) = ctx.selector.rank(&live).into_iter().next() else {
                tracing::warn!(room = %code, node = %dead, "room's node died and no node can take it");
                continue;
            };
            let Some(assignment) = ctx
                .routing
                .rooms
                .reassign_room(&code, &dead, &target)
                .await?
            else {
                continue;
            };
            tracing::info!(room = %code, dead = %dead, to = %target, "node died; moving its room");
            let participants = ctx.routing.rooms.participants(&code).await?;
            hand_over(
                ctx,
                &code,
                &assignment,
                &participants,
                CloseReason::NodeFailed,
            )
            .await?;
            moved += 1;
        }
        Ok(moved)
    }
}
