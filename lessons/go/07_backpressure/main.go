// Lesson 07 in Go: saying "busy, try again" instead of queueing forever.
//
// The twin of lessons/src/bin/07_backpressure.rs. The first article's intake
// never waits on its queue: a select with a default case answers a full
// queue at once with a 503 the patient's app can retry, where a plain send
// would hold the patient's request open until a worker frees a slot.
//
// Then the article's other warning, measured: a bigger buffer is not better.
// 100 reports at once hit queues of 4, 16, 64 and 1024 slots, four workers
// behind each. The big queue refuses no one, and makes a report wait 2.4 s.
//
// Run: go run ./lessons/go/07_backpressure      (go test ./lessons/go/07_backpressure: fake clock)
package main

import (
	"runtime"
	"time"

	"async-clinic/lessons/go/clinic"
)

const (
	// The burst: every patient of a study submits in the same instant.
	burstSize = 100
	workers   = 4
	// Storing one report takes a worker 0.1 s.
	store = 100 * time.Millisecond
)

func main() {
	clinic.Main(run)
}

// ANCHOR: lesson
func run() {
	clinic.Say("--- a queue with 2 slots, its worker still busy elsewhere")
	trySendOrWait()

	clinic.Say("--- %d reports at once, %d workers at 0.1 s each",
		burstSize, workers)
	clinic.Say("capacity  accepted  rejected (503)  longest wait in queue")
	var capacity, rejected int
	var wait float64
	at := time.Now()
	for _, capacity = range []int{4, 16, 64, 1024} {
		// Each burst comes when the one before was due to be stored.
		accepted, longest, done := burst(capacity, at)
		at = done
		rejected, wait = burstSize-accepted, longest.Seconds()
		clinic.Say("%8d  %8d  %14d  %19.1f s", capacity, accepted, rejected, wait)
	}
	// Same workers, same burst: a bigger queue only trades refusals for waiting.
	clinic.Say("%d slots: %d refused, yet a report waited %.1f s unopened",
		capacity, rejected, wait)
}

// ANCHOR_END: lesson

// ANCHOR: try_send
func trySendOrWait() {
	queue := make(chan string, 2)
	for _, report := range []string{"P-001", "P-002", "P-003"} {
		// select with default: never wait. On a full queue, default runs.
		select {
		case queue <- report:
			clinic.Say("intake: %s queued -> 202 Accepted", report)
		default:
			clinic.Say("intake: queue full, %s not sent, "+
				"default case -> 503, retry later", report)
		}
	}

	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		// The worker gets to this queue after 0.5 s.
		time.Sleep(clinic.Ms(500))
		report := <-queue
		clinic.Say("worker: took %s; a slot is free", report)
	}()
	// The other way: wait for room, with the patient's request still open.
	clinic.Say("intake: a plain send with P-003 instead: waiting for a slot")
	since := time.Now()
	queue <- "P-003"
	held := clinic.HalfSeconds(time.Since(since))
	clinic.Say("intake: P-003 queued; the patient's request was open %.1f s", held)
	<-workerDone
}

// ANCHOR_END: try_send

// ANCHOR: burst
// burst sends the burst, due at, into a queue of capacity and lets the
// workers drain it: how many were accepted, the longest any queued, and
// when the last store was due to end.
func burst(capacity int, at time.Time) (int, time.Duration, time.Time) {
	// Each report carries the instant it arrived. No goroutine reads the
	// queue yet: the whole burst lands in one instant, on any clock.
	queue := make(chan time.Time, capacity)
	accepted := 0
	for range burstSize {
		select {
		case queue <- at:
			accepted++
		default:
		}
	}
	close(queue)

	type result struct {
		longest time.Duration
		freeAt  time.Time
	}
	results := make(chan result)
	for range workers {
		go func() {
			longest, freeAt := worker(queue, at)
			results <- result{longest, freeAt}
		}()
	}
	longest, done := time.Duration(0), at
	for range workers {
		r := <-results
		longest = max(longest, r.longest)
		if r.freeAt.After(done) {
			done = r.freeAt
		}
	}
	return accepted, longest, done
}

// worker stores reports until the queue is closed and empty; it returns the
// longest a report queued before it took it, and when it was due to be free.
func worker(queue <-chan time.Time, freeAt time.Time) (time.Duration, time.Time) {
	longest := time.Duration(0)
	for arrived := range queue {
		// Queued until this worker was due to be free: counted from the plan,
		// not from a timer a busy machine wakes late, so on any clock alike.
		longest = max(longest, freeAt.Sub(arrived))
		// Each store ends 0.1 s after the previous one was due to end.
		freeAt = freeAt.Add(store)
		time.Sleep(time.Until(freeAt))
		// Let the other workers due at the same moment take theirs first: on
		// a busy machine this one may wake late, and must not take two.
		runtime.Gosched()
	}
	return longest, freeAt
}

// ANCHOR_END: burst
