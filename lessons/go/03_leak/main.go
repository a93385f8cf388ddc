// Lesson 03 in Go: goroutines that outlive the reason they were started.
//
// The twin of lessons/src/bin/03_leak.rs. A handler asks the lab for a
// patient's history, a query that takes 5 s, and answers the patient within
// 2 s, with or without it. Here Go and Rust part ways: the query goroutine
// then blocks forever on `reply <- history`, because nobody will ever
// receive, where tokio's send hands the value back at once. And the audit
// writer's `for range` waits for a close(audit) that nobody wrote.
//
// The alive count goes up with every request and never comes back down.
//
// Run: go run ./lessons/go/03_leak      (go test ./lessons/go/03_leak: fake clock)
package main

import (
	"fmt"
	"time"

	"async-clinic/lessons/go/clinic"
)

func main() {
	clinic.Main(run)
}

// ANCHOR: lesson
func run() {
	beforeOpening := clinic.Alive()
	// ANCHOR: forgotten_sender
	audit := make(chan string, 16)
	go auditWriter(audit)
	// ANCHOR_END: forgotten_sender
	clinic.Say("clinic: open, alive tasks %d: the audit writer", clinic.Alive())

	var afterRequests []int
	for _, patient := range []string{"P-001", "P-002"} {
		leakyHandler(patient, audit)
		alive := clinic.Alive()
		afterRequests = append(afterRequests, alive)
		orphans := alive - 1
		queries := "queries"
		if orphans == 1 {
			queries = "query"
		}
		clinic.Say("clinic: after %s's request, alive tasks %d: "+
			"audit writer + %d orphaned %s", patient, alive, orphans, queries)
	}

	// The queries finish their work while the clinic waits out the evening.
	time.Sleep(clinic.Ms(3_500))
	// ANCHOR: closing
	// Closing time. The one line that would let the writer go home,
	// close(audit), was never written.
	clinic.Say("clinic: closing, never called close(audit); " +
		"the writer's range loop waits on")
	// ANCHOR_END: closing
	atClosing := clinic.Alive()
	clinic.Say("verdict: alive tasks %d before opening, [%d, %d] after requests, "+
		"%d after closing: a leak, the audit writer and both queries",
		beforeOpening, afterRequests[0], afterRequests[1], atClosing)
}

// ANCHOR_END: lesson

// ANCHOR: leaky_handler
func leakyHandler(patient string, audit chan<- string) {
	// The article's reply channel: no room, the result is handed over in
	// person, so the query's send waits until someone receives.
	reply := make(chan string)
	go slowQuery(patient, reply)
	clinic.Say("handler %s: asked the lab, the patient gets an answer within 2 s",
		patient)
	var outcome string
	select {
	case history := <-reply:
		outcome = "answered with " + history
	case <-time.After(2 * time.Second):
		outcome = gaveUp
	}
	clinic.Say("handler %s: %s", patient, outcome)
	audit <- fmt.Sprintf("%s %s", patient, outcome)
	// Returning leaves reply with no receiver, for good.
}

// ANCHOR_END: leaky_handler

const gaveUp = "gave up after 2 s, told the patient to retry"

// ANCHOR: slow_query
func slowQuery(patient string, reply chan<- string) {
	time.Sleep(5 * time.Second)
	// Blocks forever: the handler that would receive has returned. Nothing
	// tells the query, nothing hands the history back.
	reply <- patient + "'s 12 past reports"
	clinic.Say("lab: never printed: %s's query waits on its send", patient)
}

// ANCHOR_END: slow_query

func auditWriter(inbox <-chan string) {
	written := 0
	// Ends only when the channel is closed.
	for range inbox {
		written++
	}
	clinic.Say("audit: channel closed after %d entries, the writer goes home",
		written)
}
