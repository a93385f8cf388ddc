// Lesson 06 in Go: shutting down without losing accepted reports.
//
// The twin of lessons/src/bin/06_shutdown.rs. Fifteen patients submit a
// report 0.1 s apart; two workers store each in 0.5 s, so a backlog builds. At
// 2.4 s the shutdown signal arrives. The first article's hook closes the
// channel and returns, and the process exits with reports still queued or
// half-written. The fix is the sync.WaitGroup it left out: stop accepting,
// close the queue, let the workers drain it, and wait, with a deadline.
//
// Run: go run ./lessons/go/06_shutdown      (go test ./lessons/go/06_shutdown: fake clock)
package main

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"async-clinic/lessons/go/clinic"
)

const (
	workers = 2
	// A patient submits every 0.1 s; storing one report takes a worker 0.5 s.
	patients = 15
	every    = 100 * time.Millisecond
	store    = 500 * time.Millisecond
	// The signal comes 0.2 s from any store's end, so a late timer cannot
	// reorder them; then we may take 5 s to finish.
	signalAt = 2400 * time.Millisecond
	deadline = 5 * time.Second
)

func main() {
	clinic.Main(run)
}

// ANCHOR: lesson
func run() {
	clinic.Say("--- naive: the article's hook closes the queue and returns")
	closeAndExit().print()
	clinic.Say("--- draining: stop accepting, finish the backlog, " +
		"wait with a deadline")
	drainAndWait().print()
	clinic.Say("tasks alive: %d", clinic.Alive())
}

// ANCHOR_END: lesson

func closeAndExit() *ledger {
	// Returning from main ends every goroutine wherever it is. The twin runs
	// a second shutdown after this one, so it closes exit instead.
	exit := make(chan struct{})
	stop, ledger := open(func(task func()) { go task() }, exit)
	time.Sleep(signalAt)
	clinic.Say("signal: shutdown requested")
	// ANCHOR: naive
	// The intake stops and closes the queue: close(ch) in the article's hook.
	close(stop)
	clinic.Say("hook: queue closed; returning without waiting for the workers")
	// ...and main returns: the process exits, its goroutines with it.
	close(exit)
	// ANCHOR_END: naive
	return ledger
}

func drainAndWait() *ledger {
	// The WaitGroup counts the goroutines started through it.
	var tasks sync.WaitGroup
	stop, ledger := open(tasks.Go, nil)
	time.Sleep(signalAt)
	clinic.Say("signal: shutdown requested")
	// ANCHOR: draining
	// 1. Stop accepting: the intake closes the queue.
	close(stop)
	accepted, taken, stored := ledger.counts()
	writing, queued := taken-stored, accepted-taken
	clinic.Say("shutdown: stopped accepting; "+
		"%d reports being written, %d queued", writing, queued)
	// 2. Wait for the backlog, but not forever: the host kills us at some point.
	finished := make(chan struct{})
	go func() {
		tasks.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		clinic.Say("shutdown: every task has finished; exiting")
	case <-time.After(deadline):
		clinic.Say("shutdown: deadline passed; the rest are cut off")
	}
	// ANCHOR_END: draining
	return ledger
}

// ANCHOR: service
// open starts the service: an intake and two workers around one queue.
// Whoever counts what start starts decides what a shutdown can wait for.
// Closing exit stands for the process exiting (nil: never).
func open(start func(func()), exit <-chan struct{}) (chan struct{}, *ledger) {
	stop, ledger := make(chan struct{}), &ledger{}
	// Room for 64, so a send never waits (a full queue is lesson 07).
	queue := make(chan time.Time, 64)
	for id := 1; id <= workers; id++ {
		start(func() { worker(id, queue, ledger, exit) })
	}
	start(func() { intake(queue, stop, ledger) })
	return stop, ledger
}

// intake accepts patient n's report at n × 0.1 s, then waits for stop. Each
// report carries its due time, so the real clock's lateness cannot add up.
func intake(queue chan<- time.Time, stop <-chan struct{}, ledger *ledger) {
	// The intake is the only sender, so it is the one to close the queue.
	defer close(queue)
	opened := time.Now()
	for n := 1; n <= patients; n++ {
		due := opened.Add(every * time.Duration(n))
		select {
		case <-stop:
			return
		case <-time.After(time.Until(due)):
		}
		queue <- due
		// The patient's app now shows "received": a promise.
		ledger.accepted.Add(1)
	}
	<-stop
}

// worker loops until the queue is closed and empty.
func worker(id int, queue <-chan time.Time, ledger *ledger, exit <-chan struct{}) {
	stored, freeAt := 0, time.Now()
	for arrived := range queue {
		ledger.taken.Add(1)
		// Validate, write to the database, append to the audit log: 0.5 s
		// from when the report arrived or this worker was free, if later.
		if arrived.After(freeAt) {
			freeAt = arrived
		}
		freeAt = freeAt.Add(store)
		select {
		case <-time.After(time.Until(freeAt)):
		case <-exit:
			return
		}
		// The other worker, if due at the same moment, goes first: a worker
		// that woke late on a busy machine must not take its next report too.
		runtime.Gosched()
		ledger.stored.Add(1)
		stored++
	}
	clinic.Say("worker %d: queue closed and empty; stored %d, exiting", id, stored)
}

// ANCHOR_END: service

// ledger is what the intake promised and what the workers did with it.
type ledger struct {
	accepted, taken, stored atomic.Int64
}

func (l *ledger) counts() (accepted, taken, stored int64) {
	return l.accepted.Load(), l.taken.Load(), l.stored.Load()
}

func (l *ledger) print() {
	accepted, taken, stored := l.counts()
	lost, writing, queued := accepted-stored, taken-stored, accepted-taken
	clinic.Say("count: accepted %d, stored %d, lost %d", accepted, stored, lost)
	if lost > 0 {
		clinic.Say("count: the lost: %d half-written, %d still queued",
			writing, queued)
	}
}
