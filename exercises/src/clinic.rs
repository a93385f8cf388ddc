//! Pieces the exercises' worlds share: a report's id, and a record of work
//! that takes time and may be cut off half-way (a query, a copy, a write).

use std::fmt;
use std::sync::Mutex;

use tokio::time::Duration;

use crate::harness::now;

/// A patient's report, `R-007`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Report(u32);

impl Report {
    pub(crate) fn new(id: u32) -> Report {
        Report(id)
    }

    /// Its number: 7 for `R-007`.
    pub(crate) fn number(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R-{:03}", self.0)
    }
}

/// One piece of work, as the clinic saw it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Work<K> {
    /// Whose work: a patient, a report, a report of a patient.
    pub what: K,
    pub started: Duration,
    /// When it stopped, and whether it got to the end.
    pub stopped: Option<(Duration, bool)>,
}

impl<K> Work<K> {
    /// How long it ran (so far, if it has not stopped).
    pub fn ran(&self) -> Duration {
        self.stopped.map_or_else(now, |(at, _)| at) - self.started
    }

    /// Whether it got to the end.
    pub fn finished(&self) -> bool {
        matches!(self.stopped, Some((_, true)))
    }
}

/// Every piece of work of one kind, recorded as it starts and stops.
#[derive(Debug)]
pub(crate) struct Works<K> {
    list: Mutex<Vec<Work<K>>>,
}

impl<K> Default for Works<K> {
    fn default() -> Self {
        Works {
            list: Mutex::new(Vec::new()),
        }
    }
}

impl<K: Copy> Works<K> {
    /// Records `what` starting now. The work counts as stopped when the
    /// returned guard is dropped: finished if [`Running::finish`] was called,
    /// cut off if the future holding it was dropped first. `said` prints the
    /// transcript line for the stop.
    pub fn begin(&self, what: K, said: fn(&Work<K>)) -> Running<'_, K> {
        let mut list = self.list.lock().unwrap();
        list.push(Work {
            what,
            started: now(),
            stopped: None,
        });
        Running {
            works: self,
            index: list.len() - 1,
            whole: false,
            said,
        }
    }

    pub fn all(&self) -> Vec<Work<K>> {
        self.list.lock().unwrap().clone()
    }
}

/// Work in progress; see [`Works::begin`].
pub(crate) struct Running<'a, K: Copy> {
    works: &'a Works<K>,
    index: usize,
    whole: bool,
    said: fn(&Work<K>),
}

impl<K: Copy> Running<'_, K> {
    /// The work got to the end.
    pub fn finish(mut self) {
        self.whole = true;
    }
}

impl<K: Copy> Drop for Running<'_, K> {
    fn drop(&mut self) {
        let work = {
            let mut list = self.works.list.lock().unwrap();
            list[self.index].stopped = Some((now(), self.whole));
            list[self.index]
        };
        (self.said)(&work);
    }
}
