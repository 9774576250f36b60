//! The control group: eligible clients who are deliberately not messaged, so the business sees
//! the lift its messages caused and not only who came back anyway.
//!
//! Assignment is a pure function of the tenant, the client and the sequence: the same client
//! is always in (or out of) the control group of a sequence, across runs, retries and
//! machines, without storing anything first.

use sha2::{Digest, Sha256};

use crate::domain::ids::{ClientId, TenantId};

/// The default share of eligible clients held back.
pub const DEFAULT_SHARE: f64 = 0.10;

/// Whether a client is held back from a sequence, for a control share between 0 and 1.
pub fn is_control(tenant: &TenantId, client: &ClientId, sequence: &str, share: f64) -> bool {
    if share <= 0.0 {
        return false;
    }
    let digest = Sha256::new()
        .chain_update(tenant.as_str())
        .chain_update([0])
        .chain_update(client.as_str())
        .chain_update([0])
        .chain_update(sequence)
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // The top 53 bits as a uniform number in [0, 1).
    let uniform = (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64;
    uniform < share
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(i: usize) -> (TenantId, ClientId) {
        (
            TenantId::parse("salon").unwrap(),
            ClientId::parse(&format!("client-{i}")).unwrap(),
        )
    }

    #[test]
    fn about_one_in_ten_is_held_back_and_always_the_same_ones() {
        let held: Vec<bool> = (0..20_000)
            .map(|i| {
                let (t, c) = ids(i);
                is_control(&t, &c, "high tier 30/60/90", DEFAULT_SHARE)
            })
            .collect();
        let share = held.iter().filter(|h| **h).count() as f64 / held.len() as f64;
        assert!((0.09..0.11).contains(&share), "{share}");
        let again: Vec<bool> = (0..20_000)
            .map(|i| {
                let (t, c) = ids(i);
                is_control(&t, &c, "high tier 30/60/90", DEFAULT_SHARE)
            })
            .collect();
        assert_eq!(held, again);
    }

    #[test]
    fn assignment_differs_between_sequences_and_a_zero_share_holds_back_nobody() {
        let differs = (0..2_000).any(|i| {
            let (t, c) = ids(i);
            is_control(&t, &c, "a", 0.5) != is_control(&t, &c, "b", 0.5)
        });
        assert!(differs);
        assert!((0..2_000).all(|i| {
            let (t, c) = ids(i);
            !is_control(&t, &c, "a", 0.0)
        }));
    }
}
