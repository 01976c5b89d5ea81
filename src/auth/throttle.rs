//! The login throttle per client address, kept in memory by each instance: at most
//! `LOGIN_ADDRESS_MAX_FAILURES` failed logins from one address in a window of `LOGIN_ADDRESS_WINDOW_SECONDS`,
//! whatever usernames they try. It stands beside the per-username lock of [`super::accounts::login`] (kept in
//! the database), which alone lets one address guess a few passwords for every username in turn.
//!
//! An attempt is counted *before* the password is checked, so parallel guesses cannot slip past the count, and
//! given back when it succeeds, so logging in to an account of one's own never resets the count of failures.
//! IPv6 addresses are counted by their /64 prefix, the block one subscriber usually holds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{AppError, AppResult};

/// Addresses tracked at once; past it, windows that are over are forgotten, then the oldest ones.
const MAX_TRACKED: usize = 100_000;

/// The throttle's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressLimit {
    /// Failed logins one address may make in a window.
    pub max_failures: u32,
    /// The window's length.
    pub window: Duration,
}

impl Default for AddressLimit {
    fn default() -> Self {
        Self {
            max_failures: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Window {
    started: Instant,
    attempts: u32,
}

/// Failed logins per client address.
#[derive(Debug)]
pub struct AddressThrottle {
    limit: AddressLimit,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

/// One counted attempt; [`Attempt::succeeded`] gives it back.
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a AddressThrottle,
    key: IpAddr,
    started: Instant,
}

impl Attempt<'_> {
    /// The login succeeded (or never reached the password check): the attempt is not a failure.
    pub fn succeeded(self) {
        if let Ok(mut windows) = self.throttle.windows.lock()
            && let Some(w) = windows.get_mut(&self.key)
            && w.started == self.started
        {
            w.attempts = w.attempts.saturating_sub(1);
        }
    }
}

/// The key an address is counted under: itself, or for IPv6 its /64 (an IPv4-mapped address as IPv4).
fn key_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl AddressThrottle {
    pub fn new(limit: AddressLimit) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `address`, or answers `RATE_LIMITED` with the seconds left in its window when the
    /// address has used up its failures.
    pub fn attempt(&self, address: IpAddr) -> AppResult<Attempt<'_>> {
        let key = key_of(address);
        let now = Instant::now();
        let mut windows = self
            .windows
            .lock()
            .map_err(|_| AppError::Internal("the login throttle's lock is poisoned".into()))?;
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&key) {
            self.forget(&mut windows, now);
        }
        let window = windows.entry(key).or_insert(Window {
            started: now,
            attempts: 0,
        });
        if now.duration_since(window.started) >= self.limit.window {
            *window = Window {
                started: now,
                attempts: 0,
            };
        }
        if window.attempts >= self.limit.max_failures {
            let left = self.limit.window.saturating_sub(now.duration_since(window.started));
            let retry_after_seconds = left.as_secs_f64().ceil().max(1.0) as i64;
            tracing::warn!(%key, retry_after_seconds, "login refused: too many failures from this address");
            return Err(AppError::RateLimited { retry_after_seconds });
        }
        window.attempts += 1;
        Ok(Attempt {
            throttle: self,
            key,
            started: window.started,
        })
    }

    /// Makes room: forgets the windows that are over, then, if still full, the oldest tenth.
    fn forget(&self, windows: &mut HashMap<IpAddr, Window>, now: Instant) {
        windows.retain(|_, w| now.duration_since(w.started) < self.limit.window);
        if windows.len() >= MAX_TRACKED {
            let mut starts: Vec<Instant> = windows.values().map(|w| w.started).collect();
            starts.sort_unstable();
            let cut = starts[starts.len() / 10];
            windows.retain(|_, w| w.started > cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn failures_are_counted_per_address_and_successes_given_back() {
        let t = AddressThrottle::new(AddressLimit {
            max_failures: 2,
            window: Duration::from_secs(60),
        });
        let _ = t.attempt(ip("10.0.0.1")).unwrap();
        t.attempt(ip("10.0.0.1")).unwrap().succeeded();
        let _ = t.attempt(ip("10.0.0.1")).unwrap();
        assert!(matches!(
            t.attempt(ip("10.0.0.1")),
            Err(AppError::RateLimited { retry_after_seconds }) if (1..=60).contains(&retry_after_seconds)
        ));
        assert!(t.attempt(ip("10.0.0.2")).is_ok());
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_count() {
        let t = AddressThrottle::new(AddressLimit {
            max_failures: 1,
            window: Duration::from_secs(60),
        });
        let _ = t.attempt(ip("2001:db8:1:2::1")).unwrap();
        assert!(t.attempt(ip("2001:db8:1:2::99")).is_err());
        assert!(t.attempt(ip("2001:db8:1:3::1")).is_ok());
        let _ = t.attempt(ip("::ffff:10.1.1.1")).unwrap();
        assert!(t.attempt(ip("10.1.1.1")).is_err());
    }
}
