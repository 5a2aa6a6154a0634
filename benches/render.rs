//! Drawing the Pods pane at 200x60 with 10,000 pods (goal: under 2 ms a frame), and the batch
//! work that keeps frames cheap (reordering 10,000 rows after an update).
//!
//! Run: `cargo bench --bench render`

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use watchfloor::event::SourceEvent;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use watchfloor::app::{Action, App};
use watchfloor::config::{ThemeName, parse};
use watchfloor::data::{KubeUpdate, RowUpdate};
use watchfloor::event::SourceState;
use watchfloor::model::Health;
use watchfloor::model::pods::PodRow;
use watchfloor::policy::ReadOnlyInputs;
use watchfloor::ui::{self, theme::ColorSupport, theme::Theme};

const PODS: usize = 10_000;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn pods() -> Vec<PodRow> {
    (0..PODS)
        .map(|i| {
            let (status, health) = match i % 50 {
                0 => ("CrashLoopBackOff", Health::Crit),
                1 => ("Pending: Unschedulable", Health::Warn),
                _ => ("Running", Health::Ok),
            };
            PodRow {
                namespace: format!("tenant-{:02}", i % 50),
                name: format!("service-{}-7d4b9c-{i:05}", i % 200),
                ready: u32::from(health == Health::Ok),
                total: 1,
                status: status.into(),
                health,
                restarts: if health == Health::Crit { 12 } else { 0 },
                last_restart: Some(t0() - Duration::from_secs(90)),
                created: Some(t0() - Duration::from_secs(86_400)),
                node: Some(format!("node-{}", i % 40)),
                owner: Some(format!("ReplicaSet/service-{}-7d4b9c", i % 200)),
                resources: Default::default(),
                terminated: false,
            }
        })
        .collect()
}

fn app() -> App {
    let config = parse(
        Path::new("bench.toml"),
        "[[targets]]\nname = \"large\"\n[targets.kubernetes]\n",
    )
    .unwrap();
    let mut app = App::new(
        Arc::new(config),
        "bench.toml".into(),
        0,
        ReadOnlyInputs::default(),
        t0(),
    );
    let generation = app.data.generation;
    app.update(Action::Backend(SourceEvent::State {
        generation,
        index: 0,
        state: SourceState::Live,
        at: t0(),
    }));
    app.update(Action::Backend(SourceEvent::Kube {
        generation,
        update: KubeUpdate::Pods(RowUpdate::Replace {
            namespace: None,
            rows: pods(),
        }),
    }));
    app.prepare_view();
    app
}

fn bench(c: &mut Criterion) {
    let app = app();
    let theme = Theme::new(ThemeName::Dark, ColorSupport::Ansi256);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    c.bench_function("draw 200x60, 10k pods", |b| {
        b.iter(|| {
            terminal
                .draw(|frame| ui::render(frame, &app.screen(), &theme))
                .unwrap();
        });
    });
    let mut app = self::app();
    let generation = app.data.generation;
    let mut i = 0u32;
    let base = pods().swap_remove(7);
    c.bench_function("one pod update + reorder 10k", |b| {
        b.iter(|| {
            i += 1;
            let mut row = base.clone();
            row.restarts = i;
            app.update(Action::Backend(SourceEvent::Kube {
                generation,
                update: KubeUpdate::Pods(RowUpdate::Upsert(row)),
            }));
            app.prepare_view();
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
