//! Who may hold a connection: a place under the node's cap, one of its address's places, and
//! descriptors to spare. A connection refused any of them is answered 503 (`listen.rs`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::fd_limit::Descriptors;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The node holds `max_connections`.
    Full,
    /// The client's address holds `max_connections_per_address`.
    Address,
    /// Another connection would leave too few descriptors for files and the database.
    Descriptors,
}

/// The places a connection holds, given back when it is dropped.
pub(super) struct Place {
    _node: OwnedSemaphorePermit,
    _address: Option<AddressPlace>,
}

/// The node's places, its addresses' places and its descriptors.
pub(super) struct Places {
    max: usize,
    node: Arc<Semaphore>,
    per_address: usize,
    addresses: Arc<Mutex<HashMap<IpAddr, usize>>>,
    descriptors: Descriptors,
}

impl Places {
    /// `per_address` 0: no cap per address.
    pub(super) fn new(max: usize, per_address: usize, descriptors: Descriptors) -> Self {
        Self {
            max,
            node: Arc::new(Semaphore::new(max)),
            per_address,
            addresses: Arc::default(),
            descriptors,
        }
    }

    /// Places for a connection from `peer` whose socket is descriptor `fd`.
    pub(super) fn admit(&mut self, peer: IpAddr, fd: Option<u64>) -> Result<Place, Refusal> {
        let live = u64::try_from(self.max - self.node.available_permits()).unwrap_or(u64::MAX);
        if self.descriptors.short(fd, live) {
            return Err(Refusal::Descriptors);
        }
        let node = Arc::clone(&self.node)
            .try_acquire_owned()
            .map_err(|_| Refusal::Full)?;
        let address = if self.per_address == 0 {
            None
        } else {
            Some(self.address_place(peer).ok_or(Refusal::Address)?)
        };
        Ok(Place {
            _node: node,
            _address: address,
        })
    }

    fn address_place(&self, peer: IpAddr) -> Option<AddressPlace> {
        let key = client_of(peer);
        let mut counts = self
            .addresses
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(key).or_insert(0);
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(AddressPlace {
            key,
            counts: Arc::clone(&self.addresses),
        })
    }
}

/// One of an address's places.
struct AddressPlace {
    key: IpAddr,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for AddressPlace {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// The client an address stands for: an IPv4 address (mapped into IPv6 or not), or the /64
/// of an IPv6 one (a single host is commonly given a whole /64).
fn client_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn an_address_holds_at_most_its_places_and_gets_them_back() {
        let mut places = Places::new(10, 2, Descriptors::unlimited());
        let a = places.admit(ip("10.0.0.1"), None).expect("first");
        let _b = places.admit(ip("10.0.0.1"), None).expect("second");
        assert_eq!(
            places.admit(ip("10.0.0.1"), None).err(),
            Some(Refusal::Address)
        );
        let _other = places.admit(ip("10.0.0.2"), None).expect("another address");
        drop(a);
        let _c = places.admit(ip("10.0.0.1"), None).expect("a freed place");
    }

    #[test]
    fn the_node_cap_holds_whatever_the_addresses() {
        let mut places = Places::new(2, 0, Descriptors::unlimited());
        let _a = places.admit(ip("10.0.0.1"), None).expect("first");
        let _b = places
            .admit(ip("10.0.0.1"), None)
            .expect("no cap per address");
        assert_eq!(
            places.admit(ip("10.0.0.2"), None).err(),
            Some(Refusal::Full)
        );
    }

    #[test]
    fn a_refused_address_does_not_keep_a_node_place() {
        let mut places = Places::new(2, 1, Descriptors::unlimited());
        let _a = places.admit(ip("10.0.0.1"), None).expect("first");
        assert!(places.admit(ip("10.0.0.1"), None).is_err());
        let _b = places
            .admit(ip("10.0.0.2"), None)
            .expect("the node place was given back");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(client_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        let mut places = Places::new(10, 1, Descriptors::unlimited());
        let _a = places.admit(ip("2001:db8::1"), None).expect("first");
        assert_eq!(
            places.admit(ip("2001:db8::ffff"), None).err(),
            Some(Refusal::Address)
        );
    }
}
