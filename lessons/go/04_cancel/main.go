// Lesson 04 in Go: the deadline reaches the query.
//
// The twin of lessons/src/bin/04_cancel.rs. Lesson 03 left a query goroutine
// blocked for good on its send, and an audit writer waiting for a close(audit)
// nobody wrote. Both are fixed here. Go cannot drop a call half-way, as Rust
// drops a future: the query is handed a context.Context and watches
// ctx.Done() itself, called in the handler's goroutine with WithTimeout (fix
// 1) or in its own goroutine, stopped by cancel() (fix 2). Last, the Go
// article's own fix: it looks at the context only after the 5 s of work.
//
// Run: go run ./lessons/go/04_cancel      (go test ./lessons/go/04_cancel: fake clock)
package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"async-clinic/lessons/go/clinic"
)

func main() {
	clinic.Main(run)
}

// ANCHOR: lesson
func run() {
	beforeOpening := clinic.Alive()
	audit := make(chan string, 16)
	var writer sync.WaitGroup
	writer.Go(func() { auditWriter(audit) })
	clinic.Say("clinic: open, alive tasks %d: the audit writer", clinic.Alive())

	var afterRequests []int
	outcome := withTimeout("P-001")
	afterRequests = append(afterRequests, answered("P-001", outcome, audit))
	outcome = withCancel("P-002")
	afterRequests = append(afterRequests, answered("P-002", outcome, audit))
	outcome = articlesFix("P-003")
	afterRequests = append(afterRequests, answered("P-003", outcome, audit))

	time.Sleep(clinic.Ms(3_500))
	// ANCHOR: closing
	// The line lesson 03 forgot; then wait for the writer's last entries.
	close(audit)
	clinic.Say("clinic: closing, called close(audit)")
	writer.Wait()
	// ANCHOR_END: closing
	atClosing := clinic.Alive()
	clinic.Say("verdict: alive tasks %d before opening, [%d, %d, %d] after "+
		"requests, %d after closing: no leak", beforeOpening, afterRequests[0],
		afterRequests[1], afterRequests[2], atClosing)
}

// ANCHOR_END: lesson

// answered gives the answer to the patient and the audit log; then counts.
func answered(patient, outcome string, audit chan<- string) int {
	clinic.Say("handler %s: %s", patient, outcome)
	audit <- fmt.Sprintf("%s %s", patient, outcome)
	alive := clinic.Alive()
	clinic.Say("clinic: after %s's request, alive tasks %d", patient, alive)
	return alive
}

// ANCHOR: fix_timeout
// Fix 1: no goroutine at all; the query returns when its context is done.
func withTimeout(patient string) string {
	clinic.Say("handler %s: asked the lab, context.WithTimeout "+
		"stops the query at 2 s", patient)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	history, err := slowQuery(ctx, patient)
	if err != nil {
		return gaveUp
	}
	return "answered with " + history
}

// ANCHOR_END: fix_timeout

// ANCHOR: fix_token
// Fix 2: the query is a goroutine of its own, so the deadline must be sent
// to it: cancel() closes ctx.Done(), which the query is watching.
func withCancel(patient string) string {
	clinic.Say("handler %s: asked the lab, "+
		"cancel() on its context stops the query at 2 s", patient)
	ctx, cancel := context.WithCancel(context.Background())
	reply := make(chan string, 1)
	var query sync.WaitGroup
	query.Go(func() {
		// An error here only means the handler has already answered.
		if history, err := slowQuery(ctx, patient); err == nil {
			reply <- history
		}
	})
	outcome := answerWithin2s(reply)
	cancel()
	// The query stops at once; waiting for it proves it let go.
	query.Wait()
	return outcome
}

// ANCHOR_END: fix_token

// ANCHOR: articles_fix
// The Go article's fix: the query checks its context only after the work.
func articlesFix(patient string) string {
	clinic.Say("handler %s: asked the lab the article's way, "+
		"ctx checked after the work", patient)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	reply := make(chan string)
	go func() {
		// The work itself is never told about ctx.
		history, _ := slowQuery(context.Background(), patient)
		select {
		case <-ctx.Done():
			clinic.Say("lab: %s's query sees ctx.Done() only now, "+
				"3 s after its handler gave up", patient)
			return
		default:
			// Had the deadline passed just now, nobody would receive.
			reply <- history
		}
	}()
	select {
	case history := <-reply:
		return "answered with " + history
	case <-ctx.Done():
		return gaveUp
	}
}

// ANCHOR_END: articles_fix

const gaveUp = "gave up after 2 s, told the patient to retry"

// answerWithin2s is the handler's select with a 2 s deadline.
func answerWithin2s(reply <-chan string) string {
	select {
	case history := <-reply:
		return "answered with " + history
	case <-time.After(2 * time.Second):
		return gaveUp
	}
}

// ANCHOR: slow_query
// slowQuery is the lab's 5 s query; it returns early once ctx is done, and
// says how long it really ran.
func slowQuery(ctx context.Context, patient string) (string, error) {
	started := time.Now()
	defer func() {
		ran := clinic.HalfSeconds(time.Since(started))
		clinic.Say("lab: %s's query stopped after %.1f s of work", patient, ran)
	}()
	select {
	case <-time.After(5 * time.Second):
		return patient + "'s 12 past reports", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// ANCHOR_END: slow_query

func auditWriter(inbox <-chan string) {
	written := 0
	// Ends when the channel is closed.
	for range inbox {
		written++
	}
	clinic.Say("audit: channel closed after %d entries, the writer goes home",
		written)
}
