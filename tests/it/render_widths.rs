//! Readable at every width: the demo's panes drawn at 80x24, 120x40 and 200x50 show no two rows
//! as the same text, and long similar names keep the suffix that tells them apart at every width.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use watchfloor::data::{KubeUpdate, RowUpdate};
use watchfloor::event::SourceEvent;
use watchfloor::policy::ReadOnlyInputs;

use crate::support::headless::{Headless, screen};

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 50)];

/// The rows inside the focused (heavy-bordered) pane, header and blank lines left out.
fn focused_rows(drawn: &str) -> Vec<String> {
    drawn
        .lines()
        .filter(|l| l.starts_with('┃'))
        .map(|l| l.trim_matches('┃').trim_end().to_string())
        .filter(|l| !l.trim().is_empty())
        .skip(1)
        .collect()
}

fn assert_distinct(what: &str, rows: &[String], drawn: &str) {
    let mut seen = HashSet::new();
    for row in rows {
        assert!(
            seen.insert(row.as_str()),
            "{what}: two rows read the same: {row:?}\n{drawn}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_panes_show_no_two_rows_alike_at_three_sizes() {
    let scenario = watchfloor_sim::Scenario::builtin("incident").unwrap();
    let demo = watchfloor::demo::Demo::start(scenario).await.unwrap();
    let loaded = demo.loaded_config(&watchfloor::demo::LocalServers::default());
    let mut console = Headless::with_config(Arc::new(loaded.config), ReadOnlyInputs::default());
    console
        .settle_until(
            "pods, deployments, claims, databases and SLOs",
            Duration::from_secs(60),
            |app| {
                let data = &app.data;
                data.kube.pods.len() >= 5
                    && !data.kube.deployments.is_empty()
                    && data.kube.claims.values().any(|c| !c.is_empty())
                    && !data.db.postgres.is_empty()
                    && !data.db.redis.is_empty()
                    && !data.slo.results.is_empty()
            },
        )
        .await;
    // Hold the data still while drawing every pane at every size.
    console.press_str("f");
    // (focus keys, what) — pods, deployments, SLOs, databases, claims; each zoomed.
    let panes = [
        ("1z", "pods"),
        ("vz", "deployments"),
        ("v2z", "slo"),
        ("3z", "db"),
        ("4z", "claims"),
    ];
    for (keys, what) in panes {
        console.press_str(keys);
        assert!(console.app.view.zoomed, "{what}: {keys} zooms");
        for size in SIZES {
            let drawn = screen(&console.app, size);
            let rows = focused_rows(&drawn);
            assert!(
                !rows.is_empty(),
                "{what} at {size:?} shows no rows\n{drawn}"
            );
            assert_distinct(&format!("{what} at {size:?}"), &rows, &drawn);
        }
        // Back to the tiled layout before the next pane.
        console.press_str("z");
    }
    demo.stop().await;
}

/// Pods whose names differ only at the end, in namespaces that differ only at the end.
fn similar_pods() -> Vec<watchfloor::model::pods::PodRow> {
    let mut rows = Vec::new();
    for (namespace, suffixes) in [
        ("user-jdoe-redhat-com-sandbox-a", ["x5xc8", "k2j4p"]),
        ("user-jdoe-redhat-com-sandbox-b", ["q9w2e", "m3n7z"]),
    ] {
        for suffix in suffixes {
            let pod = serde_json::json!({
                "metadata": {"namespace": namespace, "name": format!("babylon-catalog-api-7d4b9c6f5-{suffix}"),
                    "creationTimestamp": "2026-12-06T00:00:00Z"},
                "spec": {"nodeName": "ip-10-0-1-23.ec2.internal", "containers": [{"name": "api", "image": "x"}]},
                "status": {"phase": "Running", "containerStatuses": [{"name": "api", "ready": true, "restartCount": 0,
                    "image": "x", "imageID": "", "state": {"running": {}}}]},
            });
            rows.push(watchfloor::model::pods::pod_row(
                &serde_json::from_value(pod).unwrap(),
            ));
        }
    }
    rows
}

#[tokio::test(flavor = "current_thread")]
async fn similar_names_keep_their_suffix_at_every_width() {
    let config = "[[targets]]\nname = \"t\"\n[targets.kubernetes]\ncontext = \"c\"\n";
    let mut console = Headless::start(config, ReadOnlyInputs::default());
    let generation = console.app.data.generation;
    console
        .app
        .update(watchfloor::app::Action::Backend(SourceEvent::Kube {
            generation,
            update: KubeUpdate::Pods(RowUpdate::Replace {
                namespace: None,
                rows: similar_pods(),
            }),
        }));
    console.tick(SystemTime::now());
    console.press_str("z");
    let suffixes = ["x5xc8", "k2j4p", "q9w2e", "m3n7z"];
    let mut shown_before = 0;
    for width in 50..=200u16 {
        let drawn = screen(&console.app, (width, 20));
        let rows = focused_rows(&drawn);
        // The summary line is the first row inside the border; the pods follow the header,
        // under a group line per namespace where the NAMESPACE column does not fit.
        let pods: Vec<String> = rows
            .into_iter()
            .skip(1)
            .filter(|row| !row.starts_with("──"))
            .take(4)
            .collect();
        assert_eq!(pods.len(), 4, "at {width}\n{drawn}");
        assert_distinct(&format!("pods at width {width}"), &pods, &drawn);
        for suffix in suffixes {
            assert!(
                pods.iter().any(|row| row.contains(suffix)),
                "the suffix {suffix} is cut off at width {width}\n{drawn}"
            );
        }
        // How much of the names shows never drops as the terminal widens.
        let shown = pods
            .iter()
            .map(|row| {
                row.split_whitespace()
                    .find(|cell| suffixes.iter().any(|suffix| cell.ends_with(suffix)))
                    .map_or(0, |cell| cell.chars().count())
            })
            .sum::<usize>();
        assert!(
            shown >= shown_before,
            "names show less at {width} ({shown}) than one column narrower ({shown_before})\n{drawn}"
        );
        shown_before = shown;
    }
}
