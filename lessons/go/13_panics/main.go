// Lesson 13 in Go: a worker panics on a malformed report.
//
// The twin of lessons/src/bin/13_panics.rs. A pain score sent as a word makes
// the worker panic. In tokio that ends its task; in Go a panic no deferred
// recover() stops ends the whole program, exit status 2. So the first three
// parts run under a recover; the last, in Go only, does not. And a channel has
// no owner: a worker's death neither closes the queue nor empties it.
//
// Run: go run ./lessons/go/13_panics      (go test ./lessons/go/13_panics: fake clock)
package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"async-clinic/lessons/go/clinic"
)

var pain = [5]string{"4", "7", "severe", "2", "5"} // P-001 to P-005's

func main() {
	clinic.Main(run)
}

// ANCHOR: lesson
func run() {
	start := time.Now()
	clinic.Say("--- the worker alone holds the queue")
	queue := fill(start)
	caught := <-spawn(func() { work(queue, "worker") })
	clinic.Say("main: the worker's recover() gave %q", caught)
	clinic.Say("main: still running; the queue is open, %d reports in it",
		len(queue))
	clinic.Say("--- a supervisor holds the queue too, and starts another worker")
	queue = fill(start.Add(clinic.Ms(600)))
	close(queue) // no more reports: a worker ends once the queue is empty
	supervise(queue)
	clinic.Say("--- a context cancels the three risk checks of P-006's report")
	riskChecks(start.Add(clinic.Ms(1_600)))
	clinic.Say("--- no recover(): a panic in any goroutine ends the program")
	queue = fill(start.Add(clinic.Ms(2_600)))
	done := make(chan struct{})
	go func() { work(queue, "worker"); close(done) }()
	<-done
	clinic.Say("main: never printed: the program is gone")
}

// ANCHOR_END: lesson

// ANCHOR: workers
// work stores reports until the queue is closed and empty, or a report is bad.
func work(queue <-chan report, name string) {
	for r := range queue {
		r.store(name)
	}
}

// store stores one report; its deferred line names a report a panic took.
func (r *report) store(name string) {
	stored := false
	defer func() {
		if !stored {
			clinic.Say("P-%03d: report dropped, never stored", r.n)
		}
	}()
	time.Sleep(time.Until(r.due))
	pain, err := strconv.Atoi(r.pain)
	if err != nil {
		panic("a pain score is a number: " + err.Error())
	}
	stored = true
	clinic.Say("%s: stored P-%03d (pain %d)", name, r.n, pain)
}

// spawn runs f under a recover(), handing back its panic or nil: a JoinHandle.
func spawn(f func()) <-chan any {
	failed := make(chan any, 1)
	go func() {
		defer func() { failed <- recover() }()
		f()
	}()
	return failed
}

// supervise starts a new worker each time one panics, until one ends well.
func supervise(queue chan report) {
	for n := 1; ; n++ {
		name := fmt.Sprintf("worker %d", n)
		if caught := <-spawn(func() { work(queue, name) }); caught == nil {
			break
		}
		clinic.Say("supervisor: worker %d panicked", n)
	}
	clinic.Say("supervisor: the last worker is done, the queue is empty")
}

// ANCHOR_END: workers

// ANCHOR: join_set
// riskChecks runs three checks of one report as a group; when one panics, the
// others are asked to stop: Go cannot abort a goroutine.
func riskChecks(started time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan any, 3)
	checks := map[string]int{"pain trend": 500, "free text": 100, "meds": 800}
	for check, takes := range checks {
		go func() {
			defer func() { ended <- recover() }()
			select {
			case <-time.After(time.Until(started.Add(clinic.Ms(takes)))):
			case <-ctx.Done():
				return
			}
			// P-006's note came in Latin-1, not UTF-8.
			if check == "free text" && !utf8.Valid([]byte("tr\xe8s forte")) {
				panic("a UTF-8 note")
			}
			clinic.Say("risk: %s check done", check)
		}()
	}
	caught := <-ended // the first to end, at 0.1 s, is the one that panics
	clinic.Say("risk: the first check to end panicked: %t", caught != nil)
	cancel()
	time.Sleep(time.Until(started.Add(clinic.Ms(1_000)))) // past the slowest, 0.8 s
	clinic.Say("risk: alive tasks %d: the other two were cancelled", clinic.Alive())
}

// ANCHOR_END: join_set

// report is due stored 0.2 s after the one before.
type report struct {
	n    int
	pain string
	due  time.Time
}

// fill makes a queue holding five reports, filled at.
func fill(at time.Time) chan report {
	queue := make(chan report, 8)
	for i, pain := range pain {
		queue <- report{i + 1, pain, at.Add(clinic.Ms(200 * (i + 1)))}
	}
	clinic.Say("intake: queued P-001 to P-005")
	return queue
}
