//! Small helpers: timestamps, ids, hashing and query decoding.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

// One copy of the timestamp formats, shared with the product.
pub use watchfloor_core::timestamp::{
    parse_rfc3339 as parse_time, rfc3339_nano, rfc3339_utc as rfc3339,
};

/// FNV-1a, stable across runs.
pub fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The apiserver's "safe" alphabet (no vowels, no confusable digits).
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub fn safe_string(mut h: u64, len: usize) -> String {
    let mut s = String::with_capacity(len);
    for _ in 0..len {
        s.push(SAFE[(h % SAFE.len() as u64) as usize] as char);
        h /= SAFE.len() as u64;
        if h == 0 {
            h = fnv(&[&s]);
        }
    }
    s
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A fresh pseudo-random 64-bit value (time + counter, hashed).
pub fn fresh_u64() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = OffsetDateTime::now_utc().unix_timestamp_nanos();
    fnv(&[&n.to_string(), &t.to_string()])
}

pub fn fresh_uid() -> String {
    let a = fresh_u64();
    let b = fresh_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// Decode one `application/x-www-form-urlencoded` component (`+` is a space).
pub fn url_decode(s: &str) -> String {
    let bytes: Vec<u8> = s
        .bytes()
        .map(|b| if b == b'+' { b' ' } else { b })
        .collect();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse a raw query string leniently (`?&a=b`, bare `?`, repeated `&`).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (url_decode(k), url_decode(v)),
            None => (url_decode(p), String::new()),
        })
        .collect()
}

/// Scale a world duration by the simulation speed.
pub fn scaled(d: Duration, speed: f64) -> Duration {
    if speed <= 0.0 || !speed.is_finite() {
        return d;
    }
    d.div_f64(speed)
}
