//! Any string a client's phone or a crawler may put where a link token goes: the parser must
//! refuse it or return genuine claims, never panic, and never accept what it did not sign.
//!
//!     cargo +nightly fuzz run link_token   (from shared/)

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::domain::link_token::{LinkKey, LinkKeys, Purpose};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let keys = LinkKeys::new(vec![LinkKey::new("k1", vec![7; 32]).unwrap()]).unwrap();
    let now: jiff::Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
    for purpose in [Purpose::Rebook, Purpose::OptOut] {
        if let Ok(claims) = keys.verify(text, purpose, now) {
            // Only a token this key signed verifies: signing its claims again gives it back.
            assert_eq!(keys.sign(&claims), text);
        }
    }
});
