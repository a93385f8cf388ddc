//! Exercise 08's world: a database that takes ten connections at a time,
//! and the check that sends it a thousand requests at 9:00.

use std::fmt;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use lessons::{alive_tasks, ms, say};
use tokio::time::{Duration, sleep};

use crate::harness::{self, Rules, now, secs, within};

/// The database takes this many connections at once, and refuses more.
pub const CONNECTIONS: usize = 10;
const REQUESTS: u32 = 1_000;

/// A patient's request, `request 17`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request(u32);

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request {}", self.0)
    }
}

/// The database's answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply(u32);

/// What a request gets back: the reply, or a refused connection.
pub type Answer = Result<Reply, TooManyClients>;

/// What the database says to an eleventh connection (PostgreSQL's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyClients;

impl fmt::Display for TooManyClients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sorry, too many clients already")
    }
}

/// How long request `n`'s query takes: between 20 and 80 ms, 50 on average.
fn takes(n: u32) -> Duration {
    ms(20 + u64::from(n * 37 % 61))
}

/// The database. A clone is cheap and reaches the same database, so a task
/// can take one along.
#[derive(Clone, Default)]
pub struct Database {
    shared: Arc<Mutex<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    open: usize,
    most_open: usize,
    refused: usize,
    /// When the first refusal happened.
    first_refused: Option<Duration>,
}

impl Database {
    /// Runs `request`'s query on a connection of its own: opens it, works
    /// for 20 to 80 ms, closes it. With [`CONNECTIONS`] already open, it is
    /// refused at once.
    pub async fn query(&self, request: Request) -> Result<Reply, TooManyClients> {
        {
            let mut counts = self.shared.lock().unwrap();
            if counts.open >= CONNECTIONS {
                counts.refused += 1;
                counts.first_refused.get_or_insert(now());
                return Err(TooManyClients);
            }
            counts.open += 1;
            counts.most_open = counts.most_open.max(counts.open);
        }
        let _connection = Connection(self);
        sleep(takes(request.0)).await;
        Ok(Reply(request.0))
    }
}

/// Closes its connection when the query ends, finished or dropped.
struct Connection<'a>(&'a Database);

impl Drop for Connection<'_> {
    fn drop(&mut self) {
        self.0.shared.lock().unwrap().open -= 1;
    }
}

/// A thousand requests arrive at once.
pub fn check(serve: impl AsyncFn(&Database, Vec<Request>) -> Vec<Answer>) -> ExitCode {
    harness::main(|| {
        harness::scenario(
            "1,000 requests at once; the database takes 10 connections at a time",
            async {
                let db = Database::default();
                let requests: Vec<Request> = (1..=REQUESTS).map(Request).collect();
                let work: Duration = (1..=REQUESTS).map(takes).sum();
                let longest = (1..=REQUESTS).map(takes).max().unwrap_or_default();
                // Ten connections busy all the time, give or take the last queries.
                let due = work / CONNECTIONS as u32 + longest;
                let before = alive_tasks();
                say!(
                    "clinic: {REQUESTS} requests at once; their queries take {} in all, about {} \
                     on {CONNECTIONS} connections",
                    secs(work),
                    secs(work / CONNECTIONS as u32)
                );
                let replies = within("serve()", serve(&db, requests)).await?;
                let done = now();
                let ok = replies.iter().filter(|r| r.is_ok()).count();
                say!(
                    "clinic: serve() returned at {} with {ok} answers and {} refusals",
                    secs(done),
                    replies.len() - ok
                );
                sleep(ms(10)).await;
                let after = alive_tasks();
                judge(&db, &replies, done, due, before, after)
            },
        )
    })
}

fn judge(
    db: &Database,
    replies: &[Answer],
    done: Duration,
    due: Duration,
    before: usize,
    after: usize,
) -> harness::Outcome {
    let counts = db.shared.lock().unwrap();
    let mut rules = Rules::new();
    rules.expect(counts.refused == 0, || {
        format!(
            "{} of {REQUESTS} queries were refused with \"{TooManyClients}\", the first at {}: \
             the database takes {CONNECTIONS} connections at once, and the service asked for \
             more",
            counts.refused,
            secs(counts.first_refused.unwrap_or_default())
        )
    });
    let mut answered: Vec<u32> = replies
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|reply| reply.0))
        .collect();
    answered.sort_unstable();
    answered.dedup();
    rules.expect(replies.len() == REQUESTS as usize, || {
        format!(
            "serve() returned {} replies for {REQUESTS} requests: one each",
            replies.len()
        )
    });
    rules.expect(
        counts.refused > 0 || answered.len() == REQUESTS as usize,
        || {
            format!(
                "only {} of the {REQUESTS} requests got their own answer",
                answered.len()
            )
        },
    );
    rules.expect(done <= due, || {
        format!(
            "the last answer came at {}, with at most {} connection{} open at once: with \
             {CONNECTIONS} kept busy the whole time, all {REQUESTS} are answered by {}",
            secs(done),
            counts.most_open,
            if counts.most_open == 1 { "" } else { "s" },
            secs(due)
        )
    });
    rules.expect(after == before, || {
        format!(
            "alive tasks {after} just after serve() returned, {before} before: a task it \
             started is still running"
        )
    });
    rules.verdict()
}
