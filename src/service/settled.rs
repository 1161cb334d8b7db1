//! Announcements of assets this node moved out of Processing, so details requests that wait
//! (`?wait=S`) answer at once instead of at their next re-read.

use tokio::sync::broadcast;

use crate::domain::AssetId;

/// Settled-asset announcements kept for slow listeners (a lagging listener re-reads).
const BACKLOG: usize = 1024;

/// The sending and subscribing ends of the announcements; clones share one channel.
#[derive(Clone)]
pub struct Settled(broadcast::Sender<AssetId>);

impl Default for Settled {
    fn default() -> Self {
        Self(broadcast::channel(BACKLOG).0)
    }
}

impl Settled {
    /// Tells every waiting request that `id` is no longer Processing.
    pub fn announce(&self, id: &AssetId) {
        // No listener is not an error.
        let _ = self.0.send(id.clone());
    }

    pub fn subscribe(&self) -> broadcast::Receiver<AssetId> {
        self.0.subscribe()
    }
}
