//! Log line throughput on one core: parse + sanitise + filter + insert, for typical ~200-byte JSON
//! lines (goal: at least 500,000 lines/s), plain lines and hostile lines; and the memory held by
//! 20,000 buffered lines (goal: under 16 MiB), printed before the timings.
//!
//! Run: `cargo bench --bench logs` (memory only: `cargo bench --bench logs -- --memory-only`)

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, Throughput};
use watchfloor::logs::{LogBuffer, LogFilter, LogLine, parse_line};

/// Lines per measured batch, and the buffer size (the Logs pane's default).
const BATCH: usize = 10_000;
const CAPACITY: usize = 20_000;
/// Distinct input lines, cycled.
const VARIANTS: usize = 4096;

/// A small deterministic generator, so every run sees the same lines.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            a & 0xffff,
            (a >> 16) & 0xfff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

fn level(rng: &mut Rng) -> &'static str {
    match rng.next() % 100 {
        0..=2 => "error",
        3..=9 => "warn",
        10..=19 => "debug",
        _ => "info",
    }
}

const MESSAGES: &[&str] = &[
    "request completed",
    "cache miss, loading from store",
    "upstream timeout, retrying",
    "GET /healthz",
    "order accepted",
    "payment authorised",
];
const PATHS: &[&str] = &[
    "/api/v1/orders",
    "/api/v1/payments",
    "/api/v1/users",
    "/healthz",
    "/api/v2/catalog/items",
];

/// A typical structured line: level, ts, msg, request_id and a few fields; about 200 bytes.
fn json_line(rng: &mut Rng, i: usize) -> String {
    format!(
        r#"{{"level":"{}","ts":"2026-11-23T01:{:02}:{:02}.{:06}Z","msg":"{}","request_id":"{}","method":"GET","path":"{}/{}","status":{},"duration_ms":{}.{}}}"#,
        level(rng),
        i / 60 % 60,
        i % 60,
        rng.next() % 1_000_000,
        rng.pick(MESSAGES),
        rng.uuid(),
        rng.pick(PATHS),
        rng.next() % 100_000,
        [200, 200, 200, 201, 404, 500][(rng.next() % 6) as usize],
        rng.next() % 900,
        rng.next() % 10,
    )
}

fn json_lines() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..VARIANTS)
        .map(|i| json_line(&mut rng, i).into_bytes())
        .collect()
}

/// The same lines with kube's `timestamps=true` prefix, as the Kubernetes source reads them.
fn json_kube_lines() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..VARIANTS)
        .map(|i| {
            let line = json_line(&mut rng, i);
            format!(
                "2026-11-23T01:{:02}:{:02}.{:09}Z {line}",
                i / 60 % 60,
                i % 60,
                i * 7919 % 1_000_000_000
            )
            .into_bytes()
        })
        .collect()
}

/// Plain lines of common formats (logfmt, klog, nginx access, Java-style), about 200 bytes.
fn plain_lines() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    (0..VARIANTS)
        .map(|i| {
            let id = rng.uuid();
            match i % 4 {
                0 => format!(
                    r#"time=2026-11-23T01:02:{:02}.{:06}Z level={} msg="{}" request_id={id} method=GET path={} status=200 duration=12.{}ms"#,
                    i % 60,
                    rng.next() % 1_000_000,
                    level(&mut rng),
                    rng.pick(MESSAGES),
                    rng.pick(PATHS),
                    rng.next() % 10
                ),
                1 => format!(
                    r#"I1123 01:02:{:02}.{:06}       1 controller.go:{}] "Reconciling object" object="tenant-{:02}/service-{}" reconcileID="{id}" generation={}"#,
                    i % 60,
                    rng.next() % 1_000_000,
                    rng.next() % 900,
                    i % 50,
                    i % 200,
                    rng.next() % 100
                ),
                2 => format!(
                    r#"10.{}.{}.{} - - [23/Nov/2026:01:02:{:02} +0000] "GET {}/{} HTTP/1.1" 200 {} "-" "Mozilla/5.0 (X11; Linux x86_64) curl/8.5.0" rid={id}"#,
                    i % 250,
                    rng.next() % 250,
                    rng.next() % 250,
                    i % 60,
                    rng.pick(PATHS),
                    rng.next() % 100_000,
                    rng.next() % 10_000
                ),
                _ => format!(
                    "2026-11-23 01:02:{:02}.{:03}  {} 1 --- [nio-8080-exec-{}] c.e.orders.OrderController : {} for request {id}",
                    i % 60,
                    rng.next() % 1000,
                    level(&mut rng).to_uppercase(),
                    i % 10,
                    rng.pick(MESSAGES)
                ),
            }
            .into_bytes()
        })
        .collect()
}

/// Lines full of what must not reach the terminal: colours (as many real logs have), cursor
/// moves, OSC title/clipboard/hyperlink/palette, DCS/APC, 8-bit C1, bidi overrides, NUL, tabs and
/// invalid UTF-8; about 200 bytes.
fn hostile_lines() -> Vec<Vec<u8>> {
    let pieces: &[&[u8]] = &[
        b"\x1b[1;31mERROR\x1b[0m ",
        b"\x1b[2J\x1b[H\x1b[10;20H",
        b"\x1b]0;pwned\x07",
        b"\x1b]52;c;cm0gLXJmIC8K\x1b\\",
        b"\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
        b"\x1b]4;1;rgb:ff/00/00\x07",
        b"\x1bPq#0;2;0;0;0\x1b\\",
        b"\x1b_Gf=100;AAAA\x1b\\",
        "\u{9b}31m\u{9d}0;t\u{9c}".as_bytes(),
        "\u{202e}evil\u{202c}\u{2066}".as_bytes(),
        b"\x00\x07\x08\x7f",
        b"\t|\t",
        b"\xff\xfe\xc3(",
        b"request failed ",
        b"status=500 ",
    ];
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    (0..VARIANTS)
        .map(|_| {
            let mut line = Vec::with_capacity(256);
            while line.len() < 200 {
                line.extend_from_slice(pieces[(rng.next() % pieces.len() as u64) as usize]);
            }
            line
        })
        .collect()
}

fn filter() -> LogFilter {
    let mut filter = LogFilter::default();
    filter.set_text("request|error|timeout !healthz");
    filter
}

/// A buffer at steady state: full, so every push also evicts (and frees) the oldest line.
fn full_buffer(lines: &[Vec<u8>], kube: bool) -> LogBuffer {
    let mut buffer = LogBuffer::new(CAPACITY);
    let now = SystemTime::now();
    for bytes in lines.iter().cycle().take(CAPACITY) {
        buffer.push(parse_line(0, bytes, kube, now));
    }
    buffer
}

/// What the Logs pane does per line: parse and sanitise (in the source task), then filter and
/// insert (on the UI task). Returns the number that passed the filter.
fn pipeline(
    lines: &[Vec<u8>],
    start: usize,
    kube: bool,
    filter: &LogFilter,
    buffer: &mut LogBuffer,
) -> usize {
    let now = SystemTime::now();
    let mut visible = 0;
    let mut batch = Vec::with_capacity(BATCH);
    for bytes in lines.iter().cycle().skip(start % lines.len()).take(BATCH) {
        let line = parse_line(1, black_box(bytes), kube, now);
        visible += usize::from(filter.matches(&line, false, &[]));
        batch.push(line);
    }
    // As the Logs pane takes a source's batch: merged by time in one pass.
    buffer.push_batch(batch);
    visible
}

fn throughput(c: &mut Criterion) {
    let inputs: Vec<(&str, Vec<Vec<u8>>, bool)> = INPUTS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (lines, kube) = input(i);
            (*name, lines, kube)
        })
        .collect();
    let filter = filter();
    let mut group = c.benchmark_group("logs");
    group
        .throughput(Throughput::Elements(BATCH as u64))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6));
    for (name, lines, kube) in &inputs {
        let mean = lines.iter().map(Vec::len).sum::<usize>() / lines.len();
        let passing = pipeline(lines, 0, *kube, &filter, &mut LogBuffer::new(CAPACITY));
        println!(
            "input {name}: {} distinct lines, mean {mean} bytes; {passing} of {BATCH} pass the filter",
            lines.len()
        );
        let mut buffer = full_buffer(lines, *kube);
        let mut start = 0;
        group.bench_function(format!("parse+filter+insert/{name}"), |b| {
            b.iter(|| {
                start += BATCH;
                black_box(pipeline(lines, start, *kube, &filter, &mut buffer))
            });
        });
    }
    // The parts, for the JSON lines.
    let lines = &inputs[0].1;
    group.bench_function("parts/json/parse_line", |b| {
        let now = SystemTime::now();
        b.iter(|| {
            lines.iter().cycle().take(BATCH).for_each(|bytes| {
                black_box(parse_line(1, black_box(bytes), false, now));
            });
        });
    });
    let parsed: Vec<LogLine> = lines
        .iter()
        .cycle()
        .take(BATCH)
        .map(|bytes| parse_line(1, bytes, false, SystemTime::now()))
        .collect();
    group.bench_function("parts/json/filter", |b| {
        b.iter(|| {
            parsed
                .iter()
                .filter(|line| filter.matches(black_box(line), false, &[]))
                .count()
        });
    });
    // As a live stream's lines come: each batch newer than what the buffer holds (the case the
    // append-only buffer before time ordering measured here).
    let mut buffer = full_buffer(lines, false);
    let mut batches = 0;
    group.bench_function("parts/json/clone+insert", |b| {
        b.iter_batched(
            || {
                batches += 1;
                newer(&parsed, batches)
            },
            |batch| {
                buffer.push_batch(batch);
            },
            BatchSize::LargeInput,
        );
    });
    // The worst case of time ordering: every batch spans the buffer's whole time range (the same
    // 4096 timestamps again), so most of the buffer is merged with it.
    let mut buffer = full_buffer(lines, false);
    group.bench_function("parts/json/clone+merge_overlapping", |b| {
        b.iter_batched(
            || parsed.clone(),
            |batch| {
                buffer.push_batch(batch);
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// `lines` as the `n`th batch of a live stream: timestamps one microsecond apart, after every
/// earlier batch's (and after the fixed timestamps of the generated lines).
fn newer(lines: &[LogLine], n: u64) -> Vec<LogLine> {
    let start = SystemTime::now() + Duration::from_micros(n * BATCH as u64);
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut line = line.clone();
            line.timestamp = Some(start + Duration::from_micros(i as u64));
            line
        })
        .collect()
}

/// `VmRSS` of this process, in bytes.
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// glibc malloc's chunk for a request of `n` bytes (16-byte aligned, 8 bytes of header, 32 min).
fn malloc_chunk(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n + 8).next_multiple_of(16).max(32)
    }
}

/// Heap bytes including allocator chunk overhead, summed over every allocation a line owns.
fn heap_with_overhead(buffer: &LogBuffer) -> usize {
    let lines: usize = buffer
        .iter()
        .map(|(_, line)| {
            line.heap_allocations()
                .into_iter()
                .map(malloc_chunk)
                .sum::<usize>()
        })
        .sum();
    lines + CAPACITY * size_of::<LogLine>()
}

const MIB: f64 = 1024.0 * 1024.0;

const INPUTS: [&str; 4] = ["json", "json_kube_timestamps", "plain", "hostile"];

/// One input set: its lines and whether they carry kube's timestamp prefix.
fn input(index: usize) -> (Vec<Vec<u8>>, bool) {
    match index {
        0 => (json_lines(), false),
        1 => (json_kube_lines(), true),
        2 => (plain_lines(), false),
        _ => (hostile_lines(), false),
    }
}

/// Runs each measurement in a fresh process (this binary, with `--memory-probe`), so memory freed
/// by one measurement cannot be reused by the next and hide from the RSS delta.
fn memory_report() {
    println!(
        "memory for {CAPACITY} buffered lines (goal: under 16 MiB); LogLine is {} bytes",
        size_of::<LogLine>()
    );
    let exe = std::env::current_exe().expect("current exe");
    for (index, name) in INPUTS.iter().enumerate() {
        let (lines, _) = input(index);
        let mean = lines.iter().map(Vec::len).sum::<usize>() as f64 / lines.len() as f64;
        // Filled exactly once; then a steady state where every push evicts (fragmentation).
        for (label, pushes) in [("filled", CAPACITY), ("steady state", 5 * CAPACITY)] {
            let output = std::process::Command::new(&exe)
                .args(["--memory-probe", &index.to_string(), &pushes.to_string()])
                .output()
                .expect("memory probe");
            let report = String::from_utf8_lossy(&output.stdout);
            println!(
                "  {name:<20} {label:<12} (input mean {mean:.0} B): {}",
                report.trim()
            );
        }
    }
}

fn memory_probe(index: usize, pushes: usize) {
    // Only this input is generated, and nothing is freed before the measurement that the
    // buffer could reuse unseen.
    let (lines, kube) = input(index);
    let now = SystemTime::now();
    let before = rss();
    let mut buffer = LogBuffer::new(CAPACITY);
    for bytes in lines.iter().cycle().take(pushes) {
        buffer.push(parse_line(0, bytes, kube, now));
    }
    let after = rss();
    let exact = buffer.heap_bytes();
    let chunks = heap_with_overhead(&buffer);
    println!(
        "heap requested {:.2} MiB ({:.0} B/line); with malloc chunks {:.2} MiB ({:.0} B/line); RSS delta {:.2} MiB ({:.0} B/line)",
        exact as f64 / MIB,
        exact as f64 / CAPACITY as f64,
        chunks as f64 / MIB,
        chunks as f64 / CAPACITY as f64,
        after.saturating_sub(before) as f64 / MIB,
        after.saturating_sub(before) as f64 / CAPACITY as f64,
    );
    black_box(&buffer);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--memory-probe") {
        let number = |k: usize| {
            args.get(at + k)
                .and_then(|v| v.parse().ok())
                .expect("--memory-probe INPUT PUSHES")
        };
        memory_probe(number(1), number(2));
        return;
    }
    let has = |flag: &str| args.iter().any(|a| a == flag);
    // Not in `cargo test --benches` (criterion's test mode) or `--list`.
    if has("--memory-only") || (has("--bench") && !has("--test") && !has("--list")) {
        memory_report();
    }
    if has("--memory-only") {
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    throughput(&mut criterion);
    criterion.final_summary();
}
