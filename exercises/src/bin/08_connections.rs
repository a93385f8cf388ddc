//! Exercise 08: ten connections for a thousand requests.
//!
//! What is wrong: at 9:00 a thousand patients open the app at once. The
//! service gives every request a task of its own, as Go gives each one a
//! goroutine, and every task opens a database connection straight away. The
//! database takes ten: the other 990 patients see "sorry, too many clients
//! already" at 0.0 s. Tasks are cheap (lesson 08); connections are not.
//!
//! Done when: every request is answered, the database never has more than
//! ten connections open, and the thousand are done in about 5 s of virtual
//! time, as if ten connections were busy the whole time: not one at a time,
//! and not in batches that wait for their slowest query. (A
//! `tokio::sync::Semaphore` with ten permits is the usual tool.)
//!
//! Practises: lesson 08, `cargo run --bin 08_tasks_vs_threads`.
//! Check it:  cargo run -p exercises -- 08
//! Hint:      cargo run -p exercises -- hint 08

use exercises::ex08::{Answer, Database, Request, check};

/// Serves every request, and returns the replies in the requests' order.
async fn serve(db: &Database, requests: Vec<Request>) -> Vec<Answer> {
    let mut handlers = Vec::new();
    for request in requests {
        let db = db.clone();
        // TODO: a task per request is fine; a connection per task at once
        // is not. The database takes ten.
        handlers.push(tokio::spawn(async move { db.query(request).await }));
    }
    let mut replies = Vec::new();
    for handler in handlers {
        replies.push(handler.await.expect("a handler does not panic"));
    }
    replies
}

fn main() -> std::process::ExitCode {
    // The check sends a thousand requests at once.
    check(serve)
}
