// Lesson 08 in Go: a goroutine per request, and what a waiting request costs.
//
// The twin of lessons/src/bin/08_tasks_vs_threads.rs. The second article's
// bank: PHP-FPM serves requests at a fixed number of counters, and a clerk
// stays at the counter while the database works. Go has no clerk thread to
// give a request, so its bank is 20 goroutines, which queue the requests
// exactly as the Rust lesson's 20 threads do: 1000 / 20 x 0.1 s = 5 s. Then
// a goroutine per request, `go handle(r)`: all the waits overlap, 0.1 s.
//
// A Go program does not start OS threads (its runtime does, and
// runtime.LockOSThread only wires a goroutine to one), so the twin parks
// 50000 goroutines only. What each one adds to resident memory varies by machine,
// so the transcript leaves it out: main_test.go measures it, as the Rust
// lesson measures a task (go test -v -run Memory ./lessons/go/08_tasks_vs_threads).
//
// Run: go run ./lessons/go/08_tasks_vs_threads      (go test ./lessons/go/08_tasks_vs_threads: fake clock)
package main

import (
	"sync"
	"time"

	"async-clinic/lessons/go/clinic"
)

const (
	requests   = 1000
	clerks     = 20
	io         = 100 * time.Millisecond // each request's database call
	goroutines = 50_000
)

func main() {
	clinic.Main(run)
}

// ANCHOR: lesson
func run() {
	start := time.Now()
	clinic.Say("%d requests at once; each waits 0.1 s on the database", requests)
	bank(clerks)
	each := requests / clerks
	clinic.Say("bank of %d clerk goroutines: all answered, %d in turn at each",
		clerks, each)
	goroutinePerRequest()
	clinic.Say("one goroutine per request: all answered, every wait at once")
	park(start.Add(clinic.Ms(6_000)), start.Add(clinic.Ms(7_000)),
		start.Add(clinic.Ms(9_000)))
}

// ANCHOR_END: lesson

// ANCHOR: bank
// bank is a fixed pool: clerks goroutines, each serving its line of
// requests one at a time, holding its counter through every database wait.
func bank(clerks int) {
	opened := time.Now()
	var atWork sync.WaitGroup
	for range clerks {
		atWork.Go(func() {
			answeredAt := opened
			for range requests / clerks {
				// Back to back: each answer comes 0.1 s after the previous.
				answeredAt = answeredAt.Add(io)
				time.Sleep(time.Until(answeredAt))
			}
		})
	}
	atWork.Wait()
}

// ANCHOR_END: bank

// ANCHOR: per_request
// goroutinePerRequest is `go handle(r)` for every request: every database
// call starts at once.
func goroutinePerRequest() {
	arrived := time.Now()
	var handlers sync.WaitGroup
	for range requests {
		handlers.Go(func() { time.Sleep(time.Until(arrived.Add(io))) })
	}
	handlers.Wait()
}

// ANCHOR_END: per_request

// ANCHOR: parked
// park parks goroutines on one channel that nobody ever sends on; closing
// it wakes them all.
func park(parkAt, aliveAt, end time.Time) {
	time.Sleep(time.Until(parkAt))
	signal := make(chan struct{})
	var parked sync.WaitGroup
	clinic.Say("parking %d goroutines, each receiving from the same channel",
		goroutines)
	for range goroutines {
		parked.Go(func() { <-signal })
	}
	// A parked goroutine is not run again until its signal: no CPU.
	time.Sleep(time.Until(aliveAt))
	clinic.Say("goroutines alive: %d (runtime.NumGoroutine())", clinic.Alive())
	clinic.Say("PHP-FPM: tens of MB a process (the article's figure, not measured)")
	clinic.Say("sending the signal")
	close(signal)
	parked.Wait()
	// Waking them all is CPU work, which only the real clock sees: the line
	// goes out at a set time so that both clocks stamp it alike.
	time.Sleep(time.Until(end))
	clinic.Say("every goroutine saw it and ended; alive: %d", clinic.Alive())
}

// ANCHOR_END: parked
