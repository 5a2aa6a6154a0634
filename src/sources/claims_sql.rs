//! Stuck work items from a SQL query (`[[targets.claims]]` with `source = "sql"`): the user's
//! query, run read-only on a `[[targets.postgres]]` entry, returns pending work as `id`, `state`,
//! `since` and optionally `detail`; each row is classified like a claim (stuck once in its state
//! for longer than `stuck_after`), and a backlog past `backlog_over` is one more stuck row.
//!
//! The query is never run as written. It is first described (parsed and analysed by the
//! server, not executed), so a missing column is named before anything runs; then it runs as
//! `SELECT left(id::text, …), left(state::text, …), since, left(detail::text, …), count(*) OVER ()
//! FROM (<query>) AS q ORDER BY since LIMIT …` inside `BEGIN READ ONLY`, on a session whose
//! `default_transaction_read_only` is on as well: a config mistake cannot write. The server
//! bounds the statement (`statement_timeout`), the client bounds every call with a deadline.
//!
//! The query runs on the database's monitoring connection ([`PgLink`]), shared with the DB
//! pane: one slot per database, whatever reads it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Row, Statement};

use super::kubernetes::Reporter;
use super::pg_connect::describe_error;
use super::postgres::PgLink;
use crate::data::KubeUpdate;
use crate::event::SourceState;
use crate::model::claims::{ClaimRow, WorkItem, work_item_rows};
use watchfloor_core::config::{ClaimsConfig, PostgresConfig};

/// The most rows read per poll, oldest `since` first; the rest are only counted.
pub const MAX_ROWS: u32 = 10_000;
/// The shortest time between two polls. The DB pane's `refresh` (2 s by default) suits a
/// sample of `pg_stat_activity`; a work-queue query may scan a large table of the application,
/// and work is stuck after minutes or hours, so a 15 s resolution costs the operator nothing.
pub const MIN_POLL: Duration = Duration::from_secs(15);
/// The server cancels the query after this (`statement_timeout` on the session).
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The client gives up on a call this long after the server should have answered.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);
/// Characters of text taken from the server per column (bounding what a poll transfers: at
/// most [`MAX_ROWS`] rows of these); the model shortens further for display.
const ID_CHARS: u32 = 512;
const STATE_CHARS: u32 = 256;
const DETAIL_CHARS: u32 = 1000;

/// How often the entry's query runs: the database's `refresh`, but not more often than
/// [`MIN_POLL`].
pub fn poll_interval(database: &PostgresConfig) -> Duration {
    database.refresh.max(MIN_POLL)
}

/// Runs one `source = "sql"` claims entry on a connection of its own (see [`run_shared`]).
pub async fn run(
    database: PostgresConfig,
    claims: ClaimsConfig,
    source: usize,
    reporter: Reporter,
) {
    run_shared(PgLink::new(database), claims, source, reporter).await;
}

/// Runs one `source = "sql"` claims entry until the console drops it, on the database's shared
/// monitoring connection: a poll at once, then one every [`poll_interval`]; on failure the
/// server's message, and a retry after a backoff (the link's own when the connection is down).
pub async fn run_shared(
    link: Arc<PgLink>,
    claims: ClaimsConfig,
    source: usize,
    reporter: Reporter,
) {
    let name = claims.display_name();
    let every = poll_interval(link.config());
    let mut prepared = None;
    let mut backoff = super::backoff::Backoff::STANDARD;
    loop {
        let started = Instant::now();
        match poll(&link, &claims, &mut prepared).await {
            Ok((items, total)) => {
                backoff.succeeded();
                let rows = work_item_rows(
                    &name,
                    &items,
                    total,
                    claims.stuck_after,
                    claims.backlog_over,
                    SystemTime::now(),
                );
                if !reporter.update(KubeUpdate::Claims { source, rows }).await
                    || !reporter.state(SourceState::Live).await
                {
                    return;
                }
                tokio::time::sleep_until((started + every).into()).await;
            }
            Err(failure) => {
                // Described afresh next time: the table may have changed.
                prepared = None;
                let delay = backoff.failed();
                let delay = failure.retry_in.unwrap_or(delay);
                if !reporter.error(failure.reason, delay).await {
                    return;
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// One poll for `watchfloor snapshot`: the rows the pane would show now.
pub async fn collect_once(
    database: &PostgresConfig,
    claims: &ClaimsConfig,
) -> Result<Vec<ClaimRow>, String> {
    let link = PgLink::new(database.clone());
    let (items, total) = poll(&link, claims, &mut None).await.map_err(|f| f.reason)?;
    Ok(work_item_rows(
        &claims.display_name(),
        &items,
        total,
        claims.stuck_after,
        claims.backlog_over,
        SystemTime::now(),
    ))
}

/// Why a poll failed; `retry_in` is the link's backoff when the connection itself failed.
struct PollFailure {
    reason: String,
    retry_in: Option<Duration>,
}

impl From<String> for PollFailure {
    fn from(reason: String) -> Self {
        Self {
            reason,
            retry_in: None,
        }
    }
}

/// The wrapped query as prepared on the link's connection of that epoch.
type Prepared = Option<(u64, Statement)>;

/// One poll on the link: the items read (at most [`MAX_ROWS`], oldest first) and how many the
/// query returned in all. The wrapped query is prepared once per connection; it runs in a
/// `READ ONLY` transaction whose `statement_timeout` is [`STATEMENT_TIMEOUT`] (the session's
/// own is the monitoring one, shorter). A server error leaves the shared connection in use; a
/// call that did not finish in time, or a closed connection, drops it.
async fn poll(
    link: &PgLink,
    claims: &ClaimsConfig,
    prepared: &mut Prepared,
) -> Result<(Vec<WorkItem>, u64), PollFailure> {
    let query = user_query(claims)?;
    let mut guard = link.lock().await;
    let (monitor, epoch) = guard.connection().await.map_err(|down| PollFailure {
        reason: down.reason,
        retry_in: Some(down.retry_in),
    })?;
    let client = monitor.client_mut();
    let limit = STATEMENT_TIMEOUT * 2 + DEADLINE_MARGIN;
    let work = async {
        let statement = match prepared.as_ref() {
            Some((at, statement)) if *at == epoch => statement.clone(),
            _ => {
                let statement = prepare(client, query).await?;
                *prepared = Some((epoch, statement.clone()));
                statement
            }
        };
        read_only(client, &statement).await
    };
    let result = tokio::time::timeout(limit, work).await;
    let closed = guard.connection_is_closed().unwrap_or(true);
    match result {
        Ok(Ok(read)) => {
            guard.succeeded();
            Ok(read)
        }
        Ok(Err(reason)) if !closed => Err(reason.into()),
        Ok(Err(reason)) => {
            let down = guard.failed(reason);
            Err(PollFailure {
                reason: down.reason,
                retry_in: Some(down.retry_in),
            })
        }
        Err(_) => {
            let down = guard.failed(format!(
                "no answer from the server within {}s while running the query",
                limit.as_secs()
            ));
            Err(PollFailure {
                reason: down.reason,
                retry_in: Some(down.retry_in),
            })
        }
    }
}

/// Runs the prepared query in a read-only transaction bounded by [`STATEMENT_TIMEOUT`].
async fn read_only(
    client: &mut Client,
    statement: &Statement,
) -> Result<(Vec<WorkItem>, u64), String> {
    let ms = STATEMENT_TIMEOUT.as_millis();
    let transaction = client
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(|e| describe_error(&e))?;
    transaction
        .batch_execute(&format!(
            "SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {ms}"
        ))
        .await
        .map_err(|e| describe_error(&e))?;
    let rows = transaction
        .query(statement, &[])
        .await
        .map_err(|e| format!("query: {}", describe_error(&e)))?;
    transaction.commit().await.map_err(|e| describe_error(&e))?;
    let total = rows
        .first()
        .map(|row| row.try_get::<_, i64>(4))
        .transpose()
        .map_err(|e| format!("reading the row count: {e}"))?
        .unwrap_or(0);
    let items = rows.iter().map(work_item).collect::<Result<Vec<_>, _>>()?;
    Ok((items, u64::try_from(total).unwrap_or(0)))
}

/// The entry's query without surrounding blanks and trailing semicolons (it becomes a
/// subquery).
fn user_query(claims: &ClaimsConfig) -> Result<&str, String> {
    let query = claims
        .query
        .as_deref()
        .map(|q| {
            q.trim()
                .trim_end_matches(|c: char| c == ';' || c.is_whitespace())
        })
        .unwrap_or_default();
    if query.is_empty() {
        return Err(format!(
            "claims {:?} has no query (source = \"sql\" needs one returning id, state, since)",
            claims.display_name()
        ));
    }
    Ok(query)
}

/// Describes the user's query (parsed and analysed by the server, never executed), checks its
/// columns and prepares the wrapped query that reads them. Describing the query as written
/// first makes the server's errors point into the user's text, not into the wrapper.
async fn prepare(client: &Client, query: &str) -> Result<Statement, String> {
    let described = client
        .prepare(query)
        .await
        .map_err(|e| format!("query: {}", describe_error(&e)))?;
    let columns: Vec<(String, Type)> = described
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().clone()))
        .collect();
    drop(described);
    let sql = wrapped_query(query, &columns)?;
    client.prepare(&sql).await.map_err(|e| {
        let mut text = format!("query: {}", describe_error(&e));
        // What parses alone but not as a subquery: DELETE … RETURNING, a data-modifying WITH.
        if e.code()
            .is_some_and(|c| *c == SqlState::SYNTAX_ERROR || *c == SqlState::FEATURE_NOT_SUPPORTED)
        {
            text.push_str("; the query must be one SELECT (it runs read-only, as a subquery)");
        }
        text
    })
}

/// The query that reads the user's rows as text, capped and counted, oldest first. The
/// newlines keep a trailing `-- comment` from swallowing the closing parenthesis. Checks
/// that `id`, `state` and `since` are there and `since` is a `timestamptz`.
pub fn wrapped_query(query: &str, columns: &[(String, Type)]) -> Result<String, String> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    let find = |wanted: &str| {
        columns.iter().find(|(name, _)| name == wanted).or_else(|| {
            columns
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
        })
    };
    let returns = || {
        if names.is_empty() {
            "it returns no columns".to_string()
        } else {
            format!(
                "it returns: {}",
                crate::text::sanitize_truncated(&names.join(", "), 200)
            )
        }
    };
    let required = |wanted: &str, expected: &str| {
        find(wanted).ok_or_else(|| {
            format!(
                "the query returns no {wanted:?} column ({expected}); {}",
                returns()
            )
        })
    };
    let (id, _) = required(
        "id",
        "the work item's id: text, or any type castable to text",
    )?;
    let (state, _) = required("state", "text: the item's state, e.g. 'Pending'")?;
    let (since, since_type) = required("since", "timestamptz: when the item entered its state")?;
    if *since_type == Type::TIMESTAMP {
        return Err(format!(
            "column {since:?} is timestamp without time zone; say which zone it holds, \
             e.g. `updated_at AT TIME ZONE 'UTC' AS since` (expected timestamptz)"
        ));
    }
    if *since_type != Type::TIMESTAMPTZ {
        return Err(format!(
            "column {since:?} is {}, expected timestamptz (timestamp with time zone)",
            crate::text::sanitize(since_type.name())
        ));
    }
    let detail = match find("detail") {
        Some((detail, _)) => format!("left(q.{}::text, {DETAIL_CHARS})", quote(detail)),
        None => "NULL::text".into(),
    };
    let (id, state, since) = (quote(id), quote(state), quote(since));
    Ok(format!(
        "SELECT left(q.{id}::text, {ID_CHARS}), left(q.{state}::text, {STATE_CHARS}), \
         CASE WHEN isfinite(q.{since}) THEN q.{since} END, {detail}, count(*) OVER () \
         FROM (\n{query}\n) AS q ORDER BY q.{since} ASC NULLS LAST, 1 LIMIT {MAX_ROWS}"
    ))
}

/// A quoted SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One row of the wrapped query. NULL text reads as `-`.
fn work_item(row: &Row) -> Result<WorkItem, String> {
    let text = |index: usize, column: &str| {
        row.try_get::<_, Option<String>>(index)
            .map_err(|e| format!("reading column {column}: {e}"))
    };
    let since = row
        .try_get::<_, Option<SystemTime>>(2)
        .map_err(|e| format!("reading column since: {e}"))?;
    Ok(WorkItem {
        id: text(0, "id")?.unwrap_or_else(|| "-".into()),
        state: text(1, "state")?.unwrap_or_else(|| "-".into()),
        since,
        detail: text(3, "detail")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(list: &[(&str, Type)]) -> Vec<(String, Type)> {
        list.iter()
            .map(|(name, t)| ((*name).to_string(), t.clone()))
            .collect()
    }

    #[test]
    fn the_query_is_wrapped_read_as_text_capped_and_counted() {
        let sql = wrapped_query(
            "SELECT id, state, updated_at AS since FROM jobs -- pending",
            &columns(&[
                ("id", Type::INT8),
                ("state", Type::TEXT),
                ("since", Type::TIMESTAMPTZ),
            ]),
        )
        .expect("valid columns");
        assert_eq!(
            sql,
            "SELECT left(q.\"id\"::text, 512), left(q.\"state\"::text, 256), \
             CASE WHEN isfinite(q.\"since\") THEN q.\"since\" END, NULL::text, count(*) OVER () \
             FROM (\nSELECT id, state, updated_at AS since FROM jobs -- pending\n) AS q \
             ORDER BY q.\"since\" ASC NULLS LAST, 1 LIMIT 10000"
        );
        let with_detail = wrapped_query(
            "q",
            &columns(&[
                ("ID", Type::UUID),
                ("state", Type::TEXT),
                ("since", Type::TIMESTAMPTZ),
                ("detail", Type::JSONB),
            ]),
        )
        .expect("valid columns");
        assert!(
            with_detail.contains("left(q.\"ID\"::text, 512)"),
            "{with_detail}"
        );
        assert!(
            with_detail.contains("left(q.\"detail\"::text, 1000)"),
            "{with_detail}"
        );
    }

    #[test]
    fn missing_or_mistyped_columns_are_named() {
        let error = wrapped_query(
            "q",
            &columns(&[
                ("id", Type::INT8),
                ("state", Type::TEXT),
                ("updated_at", Type::TIMESTAMPTZ),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            error,
            "the query returns no \"since\" column (timestamptz: when the item entered its \
             state); it returns: id, state, updated_at"
        );
        let error = wrapped_query(
            "q",
            &columns(&[
                ("id", Type::INT8),
                ("state", Type::TEXT),
                ("since", Type::TIMESTAMP),
            ]),
        )
        .unwrap_err();
        assert!(error.contains("AT TIME ZONE 'UTC' AS since"), "{error}");
        let error = wrapped_query(
            "q",
            &columns(&[
                ("id", Type::INT8),
                ("state", Type::TEXT),
                ("since", Type::TEXT),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            error,
            "column \"since\" is text, expected timestamptz (timestamp with time zone)"
        );
        let error = wrapped_query("q", &[]).unwrap_err();
        assert!(error.contains("no \"id\" column") && error.ends_with("it returns no columns"));
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote("we\"ird"), "\"we\"\"ird\"");
    }
}
