//! A pass-through interceptor around a small observer: what the node (and the synthetic
//! peer) put in rtc's interceptor chains only looks at packets, sometimes drops or trims
//! one, and never produces any, so the queueing and the stream bookkeeping live here once.

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{Interceptor, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;

/// What a [`Tap`] does with the packets passing it.
pub trait PacketTap: Send + Sync + 'static {
    /// An inbound packet, which it may change; `false` drops it.
    fn read(&mut self, _msg: &mut TaggedPacket) -> bool {
        true
    }

    /// An outbound packet, on its way to the wire.
    fn write(&mut self, _msg: &TaggedPacket) {}
}

/// An interceptor that passes every packet on, through `T`.
pub struct Tap<T> {
    inner: T,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl<T: PacketTap> Tap<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
    }
}

impl<T: PacketTap> Protocol<TaggedPacket, TaggedPacket, ()> for Tap<T> {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if self.inner.read(&mut msg) {
            self.read.push_back(msg);
        }
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.inner.write(&msg);
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl<T: PacketTap> Interceptor for Tap<T> {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
