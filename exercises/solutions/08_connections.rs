//! Exercise 08, a reference solution: still a task per request, and a
//! `Semaphore` with ten permits in front of the database.
//!
//! Each task waits for a permit before it opens a connection, and holds it
//! (`_connection`, a named binding, lives to the end of the block) until its
//! query is done. A task waiting for a permit is a parked task, a few
//! hundred bytes (lesson 08), not a blocked thread. The permits go out in
//! the order they were asked for, so ten connections are busy the whole
//! time and the thousand queries end at about the sum of their times over
//! ten. Go's twin is a buffered channel of ten used as a semaphore.

use std::sync::Arc;

use exercises::ex08::{Answer, CONNECTIONS, Database, Request, check};
use tokio::sync::Semaphore;

async fn serve(db: &Database, requests: Vec<Request>) -> Vec<Answer> {
    let connections = Arc::new(Semaphore::new(CONNECTIONS));
    let mut handlers = Vec::new();
    for request in requests {
        let (db, connections) = (db.clone(), Arc::clone(&connections));
        handlers.push(tokio::spawn(async move {
            let _connection = connections
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            db.query(request).await
        }));
    }
    let mut replies = Vec::new();
    for handler in handlers {
        replies.push(handler.await.expect("a handler does not panic"));
    }
    replies
}

fn main() -> std::process::ExitCode {
    check(serve)
}
