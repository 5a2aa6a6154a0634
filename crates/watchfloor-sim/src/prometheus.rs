//! A simulated Prometheus: `/api/v1/query` and `/api/v1/query_range` over a request-rate model
//! that follows the world, so SLO burn rates react to rollouts and rollbacks.
//!
//! The model: every Deployment receives a constant demand of [`DEMAND`] req/s. Its Service spreads
//! traffic evenly over the pods "in rotation": ready pods of healthy images, and pods whose image
//! misbehaves (crash-loop, OOM-kill, never-ready), which answer 503. With no pod in rotation every
//! request is a 503. On top, [`BASELINE_ERRORS`] of the good traffic is a 500. So each Deployment
//! has three series `http_requests_total{namespace, job, service, code="200"|"500"|"503"}`, whose
//! per-second rates are piecewise constant: a change point is recorded whenever the world's
//! resourceVersion moved and the rates changed. The past before the simulator started is
//! synthesised: no traffic before the Deployment's creation, healthy traffic until its newest
//! ReplicaSet was created, and the start-time state since then (the incident scenario's bad
//! revision 7 rollout began 25 minutes before start).
//!
//! Time: timestamps on the wire are wall-clock unix seconds. The model runs at the simulator's
//! `speed`: wall time `t` after the start maps to model time `start + (t - start) * speed`
//! (before the start, model time is wall time), and range windows are model seconds. At speed 1
//! the two agree. `rate(x[w])` at `t` is the exact average of the piecewise-constant rate over
//! `[t - w, t]` (Prometheus' extrapolation is not modelled), from prefix integrals: each query is
//! O(log n). Memory is bounded: past [`MAX_POINTS`] change points, the older half is coalesced
//! pairwise (integrals over the merged spans stay exact; resolution inside them halves).
//!
//! The PromQL grammar (anything else is a `bad_data` error):
//! ```text
//! query    := expr ("or" expr)*
//! expr     := term (("+" | "-") term)*
//! term     := unary (("*" | "/") unary)*
//! unary    := ("-" | "+") unary | primary
//! primary  := NUMBER | "NaN" | "Inf" | "(" query ")" | "vector" "(" NUMBER ")"
//!           | "sum" "(" "rate" "(" selector "[" DURATION "]" ")" ")"
//! selector := [METRIC] "{" [matcher ("," matcher)* [","]] "}" | METRIC
//! matcher  := LABEL ("=" | "!=" | "=~" | "!~") STRING
//! ```
//! `or` needs vectors on both sides (the console sends `((errors) or vector(0)) / (total)`).
//! Only `http_requests_total` has series; other metric names select nothing (an empty result, as
//! Prometheus answers for unknown metrics). Vector-vector arithmetic matches the single label-less
//! element of each side (empty when either side is empty); `x/0` is `±Inf`, `0/0` is `NaN`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::Shared;
use super::behavior::Behavior;
use super::pods;
use super::resources::Res;
use super::respond;
use super::state::{Clock, Rates, Timeline, Traffic, WorldState};
use super::store::key_of;
use super::templates::revision_of;
use super::util::{parse_query, parse_time};

/// Requests per second each Deployment receives.
pub const DEMAND: f64 = 50.0;
/// Fraction of the good traffic that fails anyway (code 500).
pub const BASELINE_ERRORS: f64 = 0.001;
/// The codes each Deployment has a series for.
const CODES: [&str; 3] = ["200", "500", "503"];
/// Change points per Deployment before the older half is coalesced.
const MAX_POINTS: usize = 20_000;
/// Prometheus' limit on points per series in `query_range`.
const MAX_RANGE_POINTS: f64 = 11_000.0;
const METRIC: &str = "http_requests_total";

fn healthy_rates() -> Rates {
    rates_for(0.0)
}

/// Rates when `bad` of the traffic hits failing pods.
fn rates_for(bad: f64) -> Rates {
    let good = DEMAND * (1.0 - bad);
    [
        good * (1.0 - BASELINE_ERRORS),
        good * BASELINE_ERRORS,
        DEMAND * bad,
    ]
}

/// Pods of one Deployment as its Service sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Rotation {
    /// Ready pods of healthy images.
    pub good: usize,
    /// Pods whose image crashes or never becomes ready (they answer 503).
    pub bad: usize,
}

impl Rotation {
    /// The fraction of requests that hit a failing pod (1 with nobody in rotation).
    pub fn bad_fraction(self) -> f64 {
        let n = self.good + self.bad;
        if n == 0 {
            1.0
        } else {
            self.bad as f64 / n as f64
        }
    }
}

/// Every Deployment's rotation, by (namespace, name).
pub(crate) fn rotations(w: &WorldState) -> BTreeMap<(String, String), Rotation> {
    let mut out: BTreeMap<(String, String), Rotation> = BTreeMap::new();
    let mut dep_by_uid: HashMap<String, (String, String)> = HashMap::new();
    for d in w.store.iter(Res::Deployment, None, None) {
        let key = key_of(d);
        if let Some(uid) = d["metadata"]["uid"].as_str() {
            dep_by_uid.insert(uid.to_string(), key.clone());
        }
        out.insert(key, Rotation::default());
    }
    let mut rs_to_dep: HashMap<String, (String, String)> = HashMap::new();
    for rs in w.store.iter(Res::ReplicaSet, None, None) {
        if let (Some(uid), Some(owner)) = (rs["metadata"]["uid"].as_str(), controller_uid(rs))
            && let Some(dep) = dep_by_uid.get(owner)
        {
            rs_to_dep.insert(uid.to_string(), dep.clone());
        }
    }
    // Behaviour per (image, replacement), looked up once per distinct pair.
    let mut by_image: HashMap<(&str, bool), Behavior> = HashMap::new();
    for pod in w.store.iter(Res::Pod, None, None) {
        if pods::is_terminating(pod) {
            continue;
        }
        let Some(dep) = controller_uid(pod).and_then(|u| rs_to_dep.get(u)) else {
            continue;
        };
        let forced = if w.overrides.is_empty() {
            None
        } else {
            w.overrides.get(&key_of(pod)).copied()
        };
        let replacement = w.is_replacement(pod);
        let (mut failing, mut never_starts) = (false, false);
        for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
            let image = c["image"].as_str().unwrap_or("");
            let b = forced.unwrap_or_else(|| {
                *by_image
                    .entry((image, replacement))
                    .or_insert_with(|| w.rules.behavior(image, None, replacement))
            });
            failing |= matches!(
                b,
                Behavior::CrashLoop | Behavior::OomKilled | Behavior::NeverReady
            );
            never_starts |= matches!(b, Behavior::ImagePull | Behavior::Unschedulable);
        }
        let Some(r) = out.get_mut(dep) else { continue };
        if never_starts {
            continue;
        }
        if failing {
            r.bad += 1;
        } else if pods::is_ready(pod) {
            r.good += 1;
        }
    }
    out
}

fn controller_uid(obj: &Value) -> Option<&str> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == true)
        .and_then(|o| o["uid"].as_str())
}

fn unix_of(ts: &Value) -> Option<f64> {
    let t = parse_time(ts.as_str()?)?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

impl Clock {
    /// Model time at wall-clock `wall`.
    fn model(&self, wall: f64) -> f64 {
        if wall <= self.start_unix {
            wall
        } else {
            self.start_unix + (wall - self.start_unix) * self.speed
        }
    }
}

impl Timeline {
    fn new() -> Self {
        Timeline {
            t: vec![0.0],
            rate: vec![[0.0; 3]],
            cum: vec![[0.0; 3]],
        }
    }

    fn last(&self) -> usize {
        self.t.len() - 1
    }

    /// The rates from model time `at` on (times before the last change point are clamped).
    fn push(&mut self, at: f64, r: Rates) {
        let l = self.last();
        if self.rate[l] == r {
            return;
        }
        let at = at.max(self.t[l]);
        if at <= self.t[l] {
            self.rate[l] = r;
            return;
        }
        let dt = at - self.t[l];
        let c = std::array::from_fn(|k| self.cum[l][k] + self.rate[l][k] * dt);
        self.t.push(at);
        self.rate.push(r);
        self.cum.push(c);
        if self.t.len() > MAX_POINTS {
            self.coalesce();
        }
    }

    /// Merge adjacent segments pairwise in the older half; integrals at kept points are unchanged.
    fn coalesce(&mut self) {
        let half = self.t.len() / 2;
        let (mut t, mut rate, mut cum) = (vec![self.t[0]], vec![self.rate[0]], vec![self.cum[0]]);
        let mut i = 1;
        while i < half {
            let j = i + 2;
            let span = self.t[j] - self.t[i];
            t.push(self.t[i]);
            cum.push(self.cum[i]);
            rate.push(std::array::from_fn(|k| {
                (self.cum[j][k] - self.cum[i][k]) / span
            }));
            i = j;
        }
        t.extend_from_slice(&self.t[i..]);
        rate.extend_from_slice(&self.rate[i..]);
        cum.extend_from_slice(&self.cum[i..]);
        (self.t, self.rate, self.cum) = (t, rate, cum);
    }

    /// Integral of the rates from `t[0]` to `x`.
    fn integral(&self, x: f64) -> Rates {
        let x = x.max(self.t[0]);
        let i = self.t.partition_point(|&t| t <= x).saturating_sub(1);
        let dt = x - self.t[i];
        std::array::from_fn(|k| self.cum[i][k] + self.rate[i][k] * dt)
    }
}

/// The controller's samples may use at most 1/THROTTLE of the time (10,000 pods take ~40 ms).
const THROTTLE: u32 = 20;

impl WorldState {
    /// The controller's periodic sample: skipped while the last one's cost says to wait.
    pub(crate) fn tick_traffic(&mut self) {
        if let Some((at, cost)) = self.traffic.sampled
            && at.elapsed() < cost * THROTTLE
        {
            return;
        }
        self.sample_traffic();
    }

    /// Record the model's current rates when the world changed since the last sample. The first
    /// call starts the clock and synthesises the past.
    pub(crate) fn sample_traffic(&mut self) {
        let rv = self.store.rv();
        if self.traffic.rv == Some(rv) {
            return;
        }
        self.traffic.rv = Some(rv);
        let began = Instant::now();
        let first = self.traffic.clock.is_none();
        let clock = *self.traffic.clock.get_or_insert_with(|| Clock {
            start_unix: self.store.clock.unix(),
            speed: if self.speed.is_finite() && self.speed > 0.0 {
                self.speed
            } else {
                1.0
            },
        });
        let now = clock.model(self.store.clock.unix());
        let rot = rotations(self);
        let past = if first { self.synthesised_past() } else { None };
        for (key, timeline) in self.traffic.series.iter_mut() {
            if !rot.contains_key(key) {
                timeline.push(now, [0.0; 3]);
            }
        }
        for (key, r) in rot {
            let current = rates_for(r.bad_fraction());
            let timeline = self.traffic.series.entry(key.clone()).or_insert_with(|| {
                let mut tl = Timeline::new();
                if let Some((created, rollout)) = past.as_ref().and_then(|p| p.get(&key)) {
                    tl.push(*created, healthy_rates());
                    tl.push(rollout.max(*created), current);
                }
                tl
            });
            timeline.push(now, current);
        }
        self.traffic.sampled = Some((began, began.elapsed()));
    }

    /// Per Deployment: its creation time and when its newest ReplicaSet was created.
    fn synthesised_past(&self) -> Option<HashMap<(String, String), (f64, f64)>> {
        let mut newest: HashMap<String, (u64, f64)> = HashMap::new();
        for rs in self.store.iter(Res::ReplicaSet, None, None) {
            let (Some(owner), Some(created)) = (
                controller_uid(rs),
                unix_of(&rs["metadata"]["creationTimestamp"]),
            ) else {
                continue;
            };
            let rev = revision_of(rs);
            let e = newest.entry(owner.to_string()).or_insert((rev, created));
            if rev > e.0 {
                *e = (rev, created);
            }
        }
        let mut out = HashMap::new();
        for d in self.store.iter(Res::Deployment, None, None) {
            let Some(created) = unix_of(&d["metadata"]["creationTimestamp"]) else {
                continue;
            };
            let rollout = d["metadata"]["uid"]
                .as_str()
                .and_then(|u| newest.get(u))
                .map_or(created, |(_, t)| *t);
            out.insert(key_of(d), (created, rollout));
        }
        Some(out)
    }
}

// ---------------------------------------------------------------------------------------------
// PromQL subset

#[derive(Debug, Clone)]
enum MatchOp {
    Eq(String),
    Ne(String),
    Re(regex::Regex),
    Nre(regex::Regex),
}

#[derive(Debug, Clone)]
struct Matcher {
    label: String,
    op: MatchOp,
}

impl Matcher {
    fn matches(&self, value: &str) -> bool {
        match &self.op {
            MatchOp::Eq(v) => value == v,
            MatchOp::Ne(v) => value != v,
            MatchOp::Re(r) => r.is_match(value),
            MatchOp::Nre(r) => !r.is_match(value),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone)]
enum Expr {
    Num(f64),
    /// `sum(rate(selector[window]))`, window in seconds.
    SumRate(Vec<Matcher>, f64),
    /// `vector(n)`: one label-less element.
    Vector(f64),
    Bin(Box<Expr>, Op, Box<Expr>),
    /// `a or b`: `a`'s element when it has one, else `b`'s.
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    fn is_scalar(&self) -> bool {
        match self {
            Expr::Num(_) => true,
            Expr::SumRate(..) | Expr::Vector(_) | Expr::Or(..) => false,
            Expr::Bin(a, _, b) => a.is_scalar() && b.is_scalar(),
        }
    }

    /// The value of a scalar expression (scalars are constants here).
    fn constant(&self) -> Option<f64> {
        match self {
            Expr::Num(v) => Some(*v),
            Expr::Bin(a, op, b) => Some(apply(*op, a.constant()?, b.constant()?)),
            _ => None,
        }
    }
}

/// A query failure, reported as Prometheus' `bad_data`.
#[derive(Debug, Clone, PartialEq)]
pub struct BadData(pub String);

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

const UNSUPPORTED: &str = "the simulated Prometheus supports only sum(rate(http_requests_total{...}[window])), numbers, parentheses and + - * /";

impl<'a> Parser<'a> {
    fn err<T>(&self, msg: impl std::fmt::Display) -> Result<T, BadData> {
        Err(BadData(format!("1:{}: parse error: {msg}", self.i + 1)))
    }

    fn unsupported<T>(&self, what: impl std::fmt::Display) -> Result<T, BadData> {
        Err(BadData(format!(
            "1:{}: unsupported by the simulator: {what}; {UNSUPPORTED}",
            self.i + 1
        )))
    }

    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }

    fn ws(&mut self) {
        let r = self.rest();
        self.i += r.len() - r.trim_start().len();
    }

    fn peek(&mut self) -> Option<char> {
        self.ws();
        self.rest().chars().next()
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.ws();
        if self.rest().starts_with(tok) {
            self.i += tok.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &str) -> Result<(), BadData> {
        if self.eat(tok) {
            Ok(())
        } else {
            match self.peek() {
                Some(c) => self.err(format!("unexpected {c:?}, expected {tok:?}")),
                None => self.err(format!("unexpected end of input, expected {tok:?}")),
            }
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        self.ws();
        let r = self.rest();
        let n = r
            .char_indices()
            .find(|(k, c)| {
                !(c.is_ascii_alphabetic()
                    || *c == '_'
                    || *c == ':'
                    || (*k > 0 && c.is_ascii_digit()))
            })
            .map_or(r.len(), |(k, _)| k);
        if n == 0 {
            return None;
        }
        self.i += n;
        Some(&r[..n])
    }

    fn query(&mut self) -> Result<Expr, BadData> {
        let mut lhs = self.expr()?;
        loop {
            let at = self.i;
            if self.peek_ident().as_deref() != Some("or") {
                return Ok(lhs);
            }
            self.ident();
            let rhs = self.expr()?;
            if lhs.is_scalar() || rhs.is_scalar() {
                self.i = at;
                return self.err("set operator \"or\" not allowed in binary scalar expression");
            }
            lhs = Expr::Or(Box::new(lhs), Box::new(rhs));
        }
    }

    fn expr(&mut self) -> Result<Expr, BadData> {
        let mut lhs = self.term()?;
        loop {
            let op = if self.eat("+") {
                Op::Add
            } else if self.eat("-") {
                Op::Sub
            } else {
                return Ok(lhs);
            };
            let rhs = self.term()?;
            lhs = Expr::Bin(Box::new(lhs), op, Box::new(rhs));
        }
    }

    fn term(&mut self) -> Result<Expr, BadData> {
        let mut lhs = self.unary()?;
        loop {
            let op = if self.eat("*") {
                Op::Mul
            } else if self.eat("/") {
                Op::Div
            } else {
                return Ok(lhs);
            };
            let rhs = self.unary()?;
            lhs = Expr::Bin(Box::new(lhs), op, Box::new(rhs));
        }
    }

    fn unary(&mut self) -> Result<Expr, BadData> {
        if self.eat("-") {
            let e = self.unary()?;
            return Ok(Expr::Bin(Box::new(Expr::Num(-1.0)), Op::Mul, Box::new(e)));
        }
        if self.eat("+") {
            return self.unary();
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, BadData> {
        match self.peek() {
            None => self.err("unexpected end of input"),
            Some('(') => {
                self.i += 1;
                let e = self.query()?;
                self.expect(")")?;
                Ok(e)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some('{') => self.unsupported("a bare selector (wrap it in sum(rate(...)))"),
            Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = self.i;
                let name = self.ident().unwrap_or_default();
                match name.to_ascii_lowercase().as_str() {
                    "nan" => return Ok(Expr::Num(f64::NAN)),
                    "inf" => return Ok(Expr::Num(f64::INFINITY)),
                    _ => {}
                }
                if name == "vector" {
                    self.expect("(")?;
                    let Some(v) = self.expr()?.constant() else {
                        return self.unsupported("vector() of anything but a number");
                    };
                    self.expect(")")?;
                    return Ok(Expr::Vector(v));
                }
                if name != "sum" {
                    self.i = start;
                    return if self.rest()[name.len()..].trim_start().starts_with('(') {
                        self.unsupported(format!("function {name}()"))
                    } else {
                        self.unsupported(format!("a bare selector {name:?}"))
                    };
                }
                if matches!(self.peek_ident().as_deref(), Some("by" | "without")) {
                    return self.unsupported("sum by/without (the simulator sums everything)");
                }
                self.expect("(")?;
                let inner_at = self.i;
                match self.ident() {
                    Some("rate") => {}
                    Some(other) => {
                        self.i = inner_at;
                        return self.unsupported(format!("sum({other}...)"));
                    }
                    None => return self.unsupported("sum of anything but rate(...)"),
                }
                self.expect("(")?;
                let matchers = self.selector()?;
                self.expect("[")?;
                let window = self.window()?;
                self.expect("]")?;
                if self.peek() == Some('[') || self.eat("offset") || self.eat("@") {
                    return self.unsupported("offset, @ and subqueries");
                }
                self.expect(")")?;
                self.expect(")")?;
                if matches!(self.peek_ident().as_deref(), Some("by" | "without")) {
                    return self.unsupported("sum(...) by/without (the simulator sums everything)");
                }
                Ok(Expr::SumRate(matchers, window))
            }
            Some(c) => self.err(format!("unexpected character {c:?}")),
        }
    }

    fn peek_ident(&mut self) -> Option<String> {
        let at = self.i;
        let id = self.ident().map(str::to_string);
        self.i = at;
        id
    }

    fn number(&mut self) -> Result<Expr, BadData> {
        self.ws();
        let r = self.rest();
        let mut n = 0;
        let b = r.as_bytes();
        while n < b.len() && (b[n].is_ascii_digit() || b[n] == b'.') {
            n += 1;
        }
        if n < b.len() && (b[n] == b'e' || b[n] == b'E') {
            let mut m = n + 1;
            if m < b.len() && (b[m] == b'+' || b[m] == b'-') {
                m += 1;
            }
            if m < b.len() && b[m].is_ascii_digit() {
                while m < b.len() && b[m].is_ascii_digit() {
                    m += 1;
                }
                n = m;
            }
        }
        match r[..n].parse::<f64>() {
            Ok(v) => {
                self.i += n;
                if self.rest().starts_with(|c: char| c.is_ascii_alphabetic()) {
                    return self.unsupported("a duration where a number is expected");
                }
                Ok(Expr::Num(v))
            }
            Err(_) => self.err(format!("bad number {:?}", &r[..n])),
        }
    }

    fn selector(&mut self) -> Result<Vec<Matcher>, BadData> {
        let mut out = Vec::new();
        if let Some(name) = self.ident() {
            out.push(Matcher {
                label: "__name__".into(),
                op: MatchOp::Eq(name.to_string()),
            });
        }
        if self.eat("{") {
            loop {
                if self.eat("}") {
                    break;
                }
                let Some(label) = self.ident() else {
                    return self.err("expected a label name in the selector");
                };
                let label = label.to_string();
                let kind = if self.eat("=~") {
                    "=~"
                } else if self.eat("!~") {
                    "!~"
                } else if self.eat("!=") {
                    "!="
                } else if self.eat("=") {
                    "="
                } else {
                    return self.err(format!("expected a matcher operator after {label:?}"));
                };
                let value = self.string()?;
                let re = |v: &str| {
                    regex::Regex::new(&format!("^(?:{v})$"))
                        .map_err(|e| BadData(format!("invalid regular expression {v:?}: {e}")))
                };
                let op = match kind {
                    "=" => MatchOp::Eq(value),
                    "!=" => MatchOp::Ne(value),
                    "=~" => MatchOp::Re(re(&value)?),
                    _ => MatchOp::Nre(re(&value)?),
                };
                out.push(Matcher { label, op });
                if self.eat(",") {
                    continue;
                }
                self.expect("}")?;
                break;
            }
        }
        if out.is_empty() {
            return self.err("expected a metric selector inside rate(...)");
        }
        Ok(out)
    }

    fn string(&mut self) -> Result<String, BadData> {
        self.ws();
        let mut chars = self.rest().char_indices();
        let Some((_, q)) = chars.next().filter(|(_, c)| matches!(c, '"' | '\'' | '`')) else {
            return self.err("expected a quoted string");
        };
        let mut out = String::new();
        let mut escaped = false;
        for (k, c) in chars {
            if escaped {
                out.push(match c {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                self.i += k + 1;
                return Ok(out);
            } else {
                out.push(c);
            }
        }
        self.err("unterminated quoted string")
    }

    fn window(&mut self) -> Result<f64, BadData> {
        self.ws();
        let r = self.rest();
        let n = r
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(r.len());
        let text = &r[..n];
        match parse_duration(text) {
            Some(d) if d > 0.0 => {
                self.i += n;
                Ok(d)
            }
            _ => self.err(format!("bad range duration {text:?}")),
        }
    }
}

/// A PromQL duration (`5m`, `1h30m`, `500ms`, `30d`) in seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let units: [(&str, f64); 7] = [
            ("ms", 0.001),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
            ("d", 86400.0),
            ("w", 7.0 * 86400.0),
            ("y", 365.0 * 86400.0),
        ];
        let (u, mult) = units.iter().find(|(u, _)| rest.starts_with(u))?;
        rest = &rest[u.len()..];
        total += n * mult;
    }
    Some(total)
}

/// Parse a query of the supported subset.
fn parse(query: &str) -> Result<Expr, BadData> {
    let mut p = Parser { s: query, i: 0 };
    let e = p.query()?;
    match p.peek() {
        None => Ok(e),
        Some(_) if p.peek_ident().is_some() => p.unsupported(format!("{:?}", p.rest().trim())),
        Some(c) => p.err(format!("unexpected {c:?}")),
    }
}

/// An evaluated value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Val {
    Scalar(f64),
    /// The single label-less element of a `sum`, or `None` for an empty vector.
    Vector(Option<f64>),
}

fn apply(op: Op, a: f64, b: f64) -> f64 {
    match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
    }
}

impl Traffic {
    fn eval(&self, e: &Expr, at: f64) -> Val {
        match e {
            Expr::Num(v) => Val::Scalar(*v),
            Expr::Vector(v) => Val::Vector(Some(*v)),
            Expr::Or(a, b) => match self.eval(a, at) {
                Val::Vector(Some(x)) => Val::Vector(Some(x)),
                _ => self.eval(b, at),
            },
            Expr::SumRate(matchers, window) => {
                let mut sum = None;
                for ((ns, name), tl) in &self.series {
                    let mut hi = None;
                    let mut lo = None;
                    for (k, code) in CODES.iter().enumerate() {
                        let labels = [
                            ("__name__", METRIC),
                            ("namespace", ns.as_str()),
                            ("job", name.as_str()),
                            ("service", name.as_str()),
                            ("code", code),
                        ];
                        let value_of =
                            |l: &str| labels.iter().find(|(n, _)| *n == l).map_or("", |(_, v)| *v);
                        if !matchers.iter().all(|m| m.matches(value_of(&m.label))) {
                            continue;
                        }
                        let hi = *hi.get_or_insert_with(|| tl.integral(at));
                        let lo = *lo.get_or_insert_with(|| tl.integral(at - window));
                        *sum.get_or_insert(0.0) += (hi[k] - lo[k]) / window;
                    }
                }
                Val::Vector(sum)
            }
            Expr::Bin(a, op, b) => match (self.eval(a, at), self.eval(b, at)) {
                (Val::Scalar(x), Val::Scalar(y)) => Val::Scalar(apply(*op, x, y)),
                (Val::Vector(x), Val::Scalar(y)) => Val::Vector(x.map(|x| apply(*op, x, y))),
                (Val::Scalar(x), Val::Vector(y)) => Val::Vector(y.map(|y| apply(*op, x, y))),
                (Val::Vector(x), Val::Vector(y)) => {
                    Val::Vector(x.zip(y).map(|(x, y)| apply(*op, x, y)))
                }
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Wire format

/// A sample value as Prometheus writes it (Go `strconv.FormatFloat(f, 'f' or 'e', -1, 64)`).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let a = v.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format!("{v:e}");
        if let Some((m, e)) = s.split_once('e') {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            return format!("{m}e{sign}{digits:0>2}");
        }
        return s;
    }
    format!("{v}")
}

/// A timestamp: unix seconds, millisecond precision, integral ones without a fraction.
fn ts(t: f64) -> Value {
    let ms = (t * 1000.0).round();
    if ms % 1000.0 == 0.0 {
        json!((ms / 1000.0) as i64)
    } else {
        json!(ms / 1000.0)
    }
}

fn error(code: u16, kind: &str, msg: impl Into<String>) -> Response {
    respond::json(
        code,
        &json!({"status": "error", "errorType": kind, "error": msg.into()}),
    )
}

fn bad_data(msg: impl Into<String>) -> Response {
    error(400, "bad_data", msg)
}

fn success(data: Value) -> Response {
    respond::json(200, &json!({"status": "success", "data": data}))
}

/// A `time`/`start`/`end` parameter: unix seconds (fractional) or RFC 3339.
fn parse_timestamp(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>()
        && v.is_finite()
    {
        return Some(v);
    }
    parse_time(s).map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
}

/// A `step`/`timeout` parameter: a duration or float seconds.
fn parse_seconds(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    parse_duration(s)
}

/// Serve `/api/v1/query`, `/api/v1/query_range` and `/api/v1/status/buildinfo`.
pub(crate) fn serve(
    sh: &Arc<Shared>,
    method: &Method,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    if method != Method::GET && method != Method::POST {
        return error(405, "bad_data", format!("method {method} not allowed"));
    }
    // Form values: the body first (as Go's r.FormValue), then the URL.
    let mut params = Vec::new();
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if method == Method::POST && form {
        params.extend(parse_query(&String::from_utf8_lossy(body)));
    }
    params.extend(parse_query(raw_query));
    let param = |k: &str| params.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    if path == "/api/v1/status/buildinfo" {
        return success(json!({
            "version": "2.53.0-watchfloor-sim", "revision": "", "branch": "", "buildUser": "",
            "buildDate": "", "goVersion": ""
        }));
    }
    if let Some(t) = param("timeout")
        && parse_seconds(t).is_none_or(|s| s < 0.001)
    {
        return bad_data(format!(
            "invalid parameter \"timeout\": cannot parse {t:?} to a valid duration"
        ));
    }
    let Some(query) = param("query").filter(|q| !q.trim().is_empty()) else {
        return bad_data(
            "invalid parameter \"query\": 1:1: parse error: no expression found in input",
        );
    };
    let expr = match parse(query) {
        Ok(e) => e,
        Err(BadData(m)) => return bad_data(format!("invalid parameter \"query\": {m}")),
    };
    if path == "/api/v1/query" {
        let at = match param("time") {
            None | Some("") => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            Some(t) => match parse_timestamp(t) {
                Some(v) => v,
                None => {
                    return bad_data(format!(
                        "invalid parameter \"time\": cannot parse {t:?} to a valid timestamp"
                    ));
                }
            },
        };
        let val = sh.with(|w| {
            w.sample_traffic();
            let at = w.store.clock.world_unix(at);
            let model = w.traffic.clock.map_or(at, |c| c.model(at));
            w.traffic.eval(&expr, model)
        });
        let data = match val {
            Val::Scalar(v) => json!({"resultType": "scalar", "result": [ts(at), format_value(v)]}),
            Val::Vector(None) => json!({"resultType": "vector", "result": []}),
            Val::Vector(Some(v)) => json!({"resultType": "vector", "result": [
                {"metric": {}, "value": [ts(at), format_value(v)]}
            ]}),
        };
        return success(data);
    }
    // query_range
    let time_param = |k: &str| -> Result<f64, String> {
        let raw = param(k).unwrap_or("");
        parse_timestamp(raw).ok_or_else(|| {
            format!("invalid parameter \"{k}\": cannot parse {raw:?} to a valid timestamp")
        })
    };
    let (start, end) = match (time_param("start"), time_param("end")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(m), _) | (_, Err(m)) => return bad_data(m),
    };
    if end < start {
        return bad_data("invalid parameter \"end\": end timestamp must not be before start time");
    }
    let raw_step = param("step").unwrap_or("");
    let step = match parse_seconds(raw_step) {
        Some(s) if s > 0.0 => s,
        Some(_) => {
            return bad_data(
                "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
            );
        }
        None => {
            return bad_data(format!(
                "invalid parameter \"step\": cannot parse {raw_step:?} to a valid duration"
            ));
        }
    };
    if (end - start) / step > MAX_RANGE_POINTS {
        return bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        );
    }
    let n = ((end - start) / step).floor() as usize + 1;
    let points: Vec<(f64, Val)> = sh.with(|w| {
        w.sample_traffic();
        let (clock, sim) = (w.traffic.clock, w.store.clock);
        (0..n)
            .map(|i| {
                let t = start + step * i as f64;
                let world_t = sim.world_unix(t);
                let model = clock.map_or(world_t, |c| c.model(world_t));
                (t, w.traffic.eval(&expr, model))
            })
            .collect()
    });
    let values: Vec<Value> = points
        .iter()
        .filter_map(|(t, v)| match v {
            Val::Scalar(x) | Val::Vector(Some(x)) => Some(json!([ts(*t), format_value(*x)])),
            Val::Vector(None) => None,
        })
        .collect();
    let result = if values.is_empty() {
        json!([])
    } else {
        json!([{"metric": {}, "values": values}])
    };
    success(json!({"resultType": "matrix", "result": result}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(300.0));
        assert_eq!(parse_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_duration("30d"), Some(30.0 * 86400.0));
        assert_eq!(parse_duration("500ms"), Some(0.5));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("m"), None);
    }

    #[test]
    fn values_format_like_go() {
        assert_eq!(format_value(50.0), "50");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(1e-7), "1e-07");
        assert_eq!(format_value(1e21), "1e+21");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn grammar() {
        for ok in [
            r#"sum(rate(http_requests_total{namespace="a",code=~"5.."}[5m]))"#,
            r#"( sum(rate(http_requests_total{namespace="a",code=~"5.."}[1h])) / sum(rate(http_requests_total{namespace="a"}[1h])) ) / (1 - 0.995)"#,
            r#"1 - sum by() (rate(x[5m]))"#,
            r#"sum(rate({__name__="http_requests_total", job!~"x|y",}[30d]))"#,
            "-1.5e3 * NaN",
            "vector(-1) or vector(2 * 3)",
            r#"((sum(rate(http_requests_total{code=~"5.."}[5m]))) or vector(0)) / (sum(rate(http_requests_total[5m])))"#,
            r#"1 - ((sum(rate(http_requests_total{code="200"}[5m]))) / (sum(rate(http_requests_total[5m]))))"#,
        ] {
            let r = parse(ok);
            if ok.contains("by()") {
                assert!(r.is_err(), "{ok}");
            } else {
                assert!(r.is_ok(), "{ok}: {r:?}");
            }
        }
        for bad in [
            "rate(http_requests_total[5m])",
            "http_requests_total",
            r#"sum(rate(http_requests_total[5m])) by (code)"#,
            r#"sum(increase(http_requests_total[5m]))"#,
            r#"sum(rate(http_requests_total[5m:1m]))"#,
            r#"sum(rate(http_requests_total{code=~"("}[5m]))"#,
            "sum(rate(http_requests_total[5x]))",
            "sum(rate(",
            "1 > 0",
            "1 or vector(1)",
            "vector(sum(rate(x[5m])))",
            "",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timeline_integrals_survive_coalescing() {
        let mut tl = Timeline::new();
        for i in 0..(MAX_POINTS + 10) {
            let r = (i % 3) as f64;
            tl.push(1000.0 + i as f64, [r, 0.0, 1.0]);
        }
        assert!(tl.t.len() <= MAX_POINTS);
        let end = 1000.0 + (MAX_POINTS + 10) as f64;
        // Integral of the constant third series is exact everywhere.
        let i = tl.integral(end)[2] - tl.integral(1000.0)[2];
        assert!((i - (MAX_POINTS + 10) as f64).abs() < 1e-6, "{i}");
        // The first series over a span made of whole merged pairs: (0+1+2...) pattern sum.
        let total: f64 = (0..(MAX_POINTS + 9)).map(|i| (i % 3) as f64).sum();
        let got = tl.integral(end - 1.0)[0] - tl.integral(1000.0)[0];
        assert!((got - total).abs() < 1e-6, "{got} vs {total}");
    }
}
